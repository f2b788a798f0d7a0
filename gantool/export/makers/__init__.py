"""The makers of the artifact table, one module per format family: onnx (model.onnx, .ort),
torch_files (TorchScript, .pt2), executorch, openvino, litert, seeded, variants (fp16, int8; the
int8 phase form in int8_phase). The C export is its own room, gantool.export.c. Every maker follows
gantool.export.job.Maker: `maker(job, target) -> MakerNote | None`.
"""
