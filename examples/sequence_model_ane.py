"""The ANE-friendly rewrite of examples/sequence_model.py's SequenceEncoder, with the same outputs.

Following Apple's recipe for transformers on the Neural Engine:
* activations are (batch, channels, 1, seq): 4-D, channels first, the sequence on the last (64-byte
  aligned) axis instead of the channels;
* every nn.Linear becomes a 1x1 nn.Conv2d (same weights, reshaped to (out, in, 1, 1));
* LayerNorm normalises over the channel axis (dim 1) with eps=1e-5, representable in fp16, and squares
  only max-abs-scaled values so large activations cannot overflow fp16 (ANE037).

`load_from_reference` copies the weights of a `SequenceEncoder`, so the two can be compared:
ane(x.transpose(1, 2).unsqueeze(2)).squeeze(2).transpose(1, 2) == reference(x), up to the eps change.
"""
import torch
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over dim 1 of a (B, C, 1, S) tensor."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centered = x - x.mean(dim=1, keepdim=True)
        # Squares of |x| > 256 overflow fp16, so square after dividing by the per-position max-abs:
        # c / sqrt(mean(c^2) + eps / s^2) equals centered / sqrt(var + eps) exactly.
        s = centered.abs().amax(dim=1, keepdim=True).clamp(min=1e-3)
        var_scaled = ((centered / s) ** 2).mean(dim=1, keepdim=True)
        x = (centered / s) * torch.rsqrt(var_scaled + self.eps / s / s)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class FeedForwardANE(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.up = nn.Conv2d(dim, hidden, kernel_size=1)
        self.act = nn.GELU()
        self.down = nn.Conv2d(hidden, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, 1, S)
        return self.down(self.act(self.up(x)))


# ane: inputs=(1, 128, 1, 64)
class SequenceEncoderANE(nn.Module):
    def __init__(self, dim: int = 128, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.blocks = nn.ModuleList([FeedForwardANE(dim, hidden) for _ in range(depth)])
        self.norms = nn.ModuleList([ChannelLayerNorm(dim) for _ in range(depth)])
        self.head = nn.Conv2d(dim, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, 1, S)
        for block, norm in zip(self.blocks, self.norms):
            x = norm(x + block(x))
        return self.head(x)

    @torch.no_grad()
    def load_from_reference(self, reference: nn.Module) -> "SequenceEncoderANE":
        """Copy the weights of a sequence_model.SequenceEncoder (Linear weights become 1x1 conv kernels)."""
        def conv_from_linear(conv: nn.Conv2d, linear: nn.Linear) -> None:
            conv.weight.copy_(linear.weight[:, :, None, None])
            conv.bias.copy_(linear.bias)

        for mine, theirs in zip(self.blocks, reference.blocks):
            conv_from_linear(mine.up, theirs.up)
            conv_from_linear(mine.down, theirs.down)
        for mine, theirs in zip(self.norms, reference.norms):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        conv_from_linear(self.head, reference.head)
        return self
