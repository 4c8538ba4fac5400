"""Batch backfills past one machine: `groomguard score --engine ray` on Ray Data.

`manifest.py` plans the job and records progress (resumable); `ray_backfill.py` runs it. Ray is
imported only when a backfill runs (the `scale` extra), never by the HTTP server.
"""
