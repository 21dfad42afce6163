"""The aiohttp application: pages for operators, handlers and auditors (Jinja2
templates, one small script, message catalogs in Chinese and English), the REST API
under ``/api`` with its generated OpenAPI document, server-sent events, metrics, and the
security around them (sessions or bearer tokens, roles, CSRF, security headers).

``routing`` declares each operation once (method, path, access, request and response
models); ``security`` resolves who is asking; ``present`` decides what they may see of
a case (masking, content access) and audits each look.

May import: everything below it (``hotline.service``'s ``Hotline`` core, ``auth``,
``cases``, ``casework``, ``corrections``, ``notes``, ``search``, ``store``,
``evidence``, ``jobs``, ``webhooks``). Nothing imports the web.
"""
