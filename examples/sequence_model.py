"""A small sequence model written the usual PyTorch way, which is what the ANE does NOT like.

* `SequenceEncoder` keeps activations as (batch, seq, channels) and uses nn.Linear on them (ANE021) and
  nn.LayerNorm with eps=1e-12, which underflows in fp16 (ANE005). It still runs on the ANE, slowly; its
  ANE-friendly rewrite with identical outputs is `examples/sequence_model_ane.py`.
* `RecurrentTagger` uses nn.LSTM, which has no ANE path at all (ANE026): it falls back to the CPU.
  No rewrite keeps an LSTM's exact behaviour, so it has no counterpart in the ANE file.

Try:  ane-lens check examples/sequence_model.py
      ane-lens run examples/sequence_model.py:SequenceEncoder
"""
import torch
from torch import nn


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.up = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.down = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, S, C)
        return self.down(self.act(self.up(x)))


# ane: inputs=(1, 64, 128)
class SequenceEncoder(nn.Module):
    def __init__(self, dim: int = 128, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.blocks = nn.ModuleList([FeedForward(dim, hidden) for _ in range(depth)])
        self.norms = nn.ModuleList([nn.LayerNorm(dim, eps=1e-12) for _ in range(depth)])
        self.head = nn.Linear(dim, dim)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # (B, S, C)
        x = hidden_states
        for block, norm in zip(self.blocks, self.norms):
            x = norm(x + block(x))
        return self.head(x)


# ane: inputs=(1, 32, 64)
class RecurrentTagger(nn.Module):
    def __init__(self, dim: int = 64, hidden: int = 64, tags: int = 8):
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, tags)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, S, C)
        out, _ = self.lstm(tokens)
        return self.proj(out)
