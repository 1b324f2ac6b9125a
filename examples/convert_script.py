"""A coremltools conversion script with settings that keep the model off the Neural Engine.

* compute_precision=FLOAT32: an fp32 ML Program never runs on the ANE (ANE001).
* compute_units=CPU_ONLY: excludes the ANE outright (ANE046).
* RangeDim on the sequence axis: flexible shapes run on the ANE only for the default shape (ANE015).

Try:  ane-lens check examples/convert_script.py
"""
import coremltools as ct
import torch

from sequence_model import SequenceEncoder

model = SequenceEncoder().eval()
example = torch.randn(1, 64, 128)
traced = torch.jit.trace(model, example)

mlmodel = ct.convert(
    traced,
    inputs=[ct.TensorType(name="hidden_states", shape=(1, ct.RangeDim(1, 512, default=64), 128))],
    convert_to="mlprogram",
    compute_precision=ct.precision.FLOAT32,
    compute_units=ct.ComputeUnit.CPU_ONLY,
)
mlmodel.save("SequenceEncoder.mlpackage")
