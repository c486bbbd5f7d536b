"""The web layer: Flask pages and Socket.IO events around the pure `playground` package.

This is the only part of `playground/` that imports Flask, Socket.IO or eventlet; it translates events into calls on
`playground.session.TrainingSession` and results into messages (docs/protocol.md). It stays import-free here so that
app.py can monkey-patch before Flask is imported.
"""
