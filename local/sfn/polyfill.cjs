// Promise.withResolvers (ES2024) for Node 20: aws-local-stepfunctions 3.x
// calls it and declares Node >= 22. Load with NODE_OPTIONS=--require <this file>.
'use strict';
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
