"""gatgrad: graph-attention layers written as formulas, with exact generated gradients.

``import gatgrad.torch`` for the PyTorch modules (``GATv2Conv``, ``GATConv``, ``Layer``).
"""

from . import _gatgrad  # noqa: F401  (the compiled extension)

__version__ = "0.1.0"
