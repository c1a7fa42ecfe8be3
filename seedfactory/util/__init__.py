"""Leaf utilities every part of seedfactory may use: durable file and folder writes, JSONL that
names the file and line of a bad record, numbered SQLite migrations, packaged-model resolution and
the one progress-bar type.

A leaf imports nothing from the rest of seedfactory but `seedfactory.schemas` records (a test
checks it), so the stage packages (generators, validators, judges, review, train) can share these
helpers without leaning on the spine (cli, pipeline, steps, context).
"""
