"""Several hotline nodes on one database and one evidence store.

* ``lease``: a named lease in the database (``node_leases``) that one node at a time
  holds, renewed before it runs out, with a term that rises at every change of holder;
* ``leader``: ``Leadership`` runs a component (the Asterisk source) only while this
  node holds its lease, and stops it the moment the lease may have passed to another;
* ``relay``: live calls and server-sent events from every node to every node, over
  PostgreSQL ``LISTEN/NOTIFY``.

May import: ``hotline.live``, ``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""
