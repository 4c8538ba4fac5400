"""Serving: scoring engine, HTTP API, conversation state, review queue, auth.

Never imports torch or transformers: a serving install is onnxruntime + tokenizers + the web stack.
"""
