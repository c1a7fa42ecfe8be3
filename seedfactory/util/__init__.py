"""Leaf utilities every part of seedfactory may use: durable file and folder writes, JSONL that
names the file and line of a bad record, numbered SQLite migrations, packaged-model resolution,
the one progress-bar type, the one error type (`errors.SeedfactoryError`) and guarded reads of
user files (`safe_input`).

A leaf imports nothing from the rest of seedfactory (a test checks it), so every package, the
records and config in `seedfactory.schemas` included, can share these helpers (the one error type,
size- and alias-bounded reads of user files) without leaning on the spine (cli, pipeline, steps).
"""
