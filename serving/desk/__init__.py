"""The moderator desk: server-rendered pages under `/review` for the people who work the review queue.

Desk users and sessions (users.py, sessions.py), the queue and claims (queue.py), the case page and
report drafts (case_view.py), routes per page group, Jinja2 templates and static files (no CDN; the
core flow works with JavaScript off). `mount.install_desk(app)` mounts it on
the API app (a module of its own: this package is also imported by groomguard.serving.settings for
its config, which must not pull in the web stack).
"""
