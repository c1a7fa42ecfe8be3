"""seedfactory: a handful of seed examples in, a clean reviewed dataset and a fine-tuned student out.

Nothing happens at import time: no logging set-up, no model loads, no network.
"""

__version__ = "0.1.0"
