"""Key providers: where the keys of encrypted VMs come from (rows K1-K4).

* A Standard Key Provider is an external KMS spoken to over KMIP with mutual TLS: here a real PyKMIP
  server in its own process (``server``, ``process``), which every vCenter that trusts it reaches as a
  KMIP client (``kmip``). Keys are created there and fetched by id.
* A Native Key Provider (vCenter 7.0 U2+) is key material the vCenter keeps itself, sealed in its state
  directory under a key kept in another file, exported as a password-protected backup and restored
  into another vCenter (``native``).

``providers`` gives one vCenter its providers by name, and wraps and opens the per-VM data keys.
Nothing in this package logs, formats or raises key material or passwords.
"""
