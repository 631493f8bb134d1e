"""Model building: the data readers, the training commands, the sentences written for training, and the
measurements (held-out figures, functional suites, `moderation eval`).

It imports the serving package's scoring code, so that it trains and measures the very pipeline that serves; the
serving package never imports this one (`tests/test_layout.py`).
"""
