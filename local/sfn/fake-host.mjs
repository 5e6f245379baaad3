// Test support: a fake function host, in the role `cargo lambda watch` plays
// in the local stack. Each function maps an input to [status, body].

import { createServer } from 'node:http';
import { once } from 'node:events';

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * Listens on a free loopback port; hands every invocation to `record` as
 * {fn, input, at}. Returns the server and its port.
 */
export async function startFakeHost(functions, record) {
  const server = createServer((req, res) => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url);
    if (req.method !== 'POST' || !m || !functions[m[1]]) {
      reply(res, 404, { title: 'Missing function', detail: req.url });
      return;
    }
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      const input = JSON.parse(text);
      record({ fn: m[1], input, at: Date.now() });
      const [status, body] = functions[m[1]](input);
      reply(res, status, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: server.address().port };
}
