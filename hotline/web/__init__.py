"""The aiohttp application: the REST API under ``/api`` (and, with the web issue, the
pages for operators and handlers, server-sent events and metrics).

May import: everything below it (``hotline.service``'s ``Hotline`` core, ``cases``,
``store``, ``evidence``, ``jobs``). Nothing imports the web.
"""
