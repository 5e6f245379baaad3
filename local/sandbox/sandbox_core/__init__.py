"""What every vendor sandbox shares, below the vendor modules (vendors/) and the
server (vendor_sandbox.py). Nothing here imports a vendor.

- exchange: Request, Response, Reject (answer a request early)
- formats: IAM role ARNs, RFC 3339 timestamps
- roles: whether a role is assumable yet (IAM propagation), and when each role was first seen
- vendor: the Vendor base class (routing, check order, error-shape hooks, auth comparison)
- seed: the default seed from the vendors' sections, and seed files
- faults: fault injection
- chaos: random faults, reproducible by seed
- request_log: the request log, credentials redacted
- control: the /_sandbox/ control API, duplicate counting included
"""
