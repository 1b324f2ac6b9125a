"""Export examples/convnet.py's ConvNet to examples/convnet.onnx (committed, so `ane-lens run` works
without Python). Deterministic: fixed seed, eval mode, opset 13.

    /usr/bin/python3 examples/make_convnet_onnx.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from convnet import ConvNet  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    model = ConvNet().eval()
    # Give batch norm non-trivial statistics so the folded graph is not an identity.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 64, 64)
    out = os.path.join(HERE, "convnet.onnx")
    torch.onnx.export(
        model, x, out, input_names=["image"], output_names=["probs"], opset_version=13,
        do_constant_folding=False,
    )
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
