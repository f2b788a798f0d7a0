"""The rows of the artifact table: every backend that runs a file, every kind of file gantool exports.

Adding a format is a row here, a backend (an opener) and a maker; the CLI option, the tests,
`gantool formats`, the metadata reader and the README's formats table all follow from the row.
"""

from __future__ import annotations

from gantool.artifacts.registry import ArtifactKind, Backend, register_artifact, register_backend, register_variant

for _b in (
    Backend(
        "onnxruntime",
        "gantool.runtime.onnx:OnnxGenerator",
        torch_free=True,
        options=("threads", "providers", "spin", "max_batch", "optimize"),
    ),
    Backend("onnx.reference", "gantool.export.backends:ReferenceGenerator", batches=(1,), bench=False),
    Backend("torchscript", "gantool.export.backends:TorchScriptGenerator"),
    Backend("pytorch", "gantool.toolkit.inference:open_checkpoint"),
    Backend("torch.export", "gantool.export.backends:TorchExportGenerator"),
    Backend("executorch", "gantool.export.backends:ExecuTorchGenerator", extra="executorch", needs="executorch"),
    Backend("openvino", "gantool.export.backends:OpenVINOGenerator", extra="openvino", needs="openvino"),
    Backend("openvino.bf16", "gantool.export.backends:open_openvino_bf16", extra="openvino", needs="openvino"),
    # The plain-C export built with the host's C compiler (ctypes): one image per call, as on a device.
    Backend("c", "gantool.export.c.backend:CGenerator", batches=(1,)),
    # ai-edge-litert's interpreter (XNNPack), torch-free: the Sampler opens .tflite files when it is installed.
    Backend(
        "litert",
        "gantool.runtime.litert:LiteRTGenerator",
        torch_free=True,
        extra="litert-runtime",
        needs="ai_edge_litert",
        options=("threads", "providers", "spin", "max_batch"),
    ),
):
    register_backend(_b)

register_variant("fp16", "Also write the fp16 variant of each format that has one.")
register_variant("int8", "Also write the int8 variant of each format that has one.")

for _k in (
    ArtifactKind(
        "torchscript",
        "model.ts.pt",
        "torchscript",
        "gantool.export.makers.torch_files:export_torchscript",
        ("torchscript",),
        metadata="zip",
        help="Write model.ts.pt (torch.jit.trace).",
    ),
    ArtifactKind(
        "onnx",
        "model.onnx",
        "onnx",
        "gantool.export.makers.onnx:export_onnx",
        ("onnxruntime", "onnx.reference"),
        help="Write model.onnx. (No format option at all: ONNX and TorchScript.)",
    ),
    ArtifactKind(
        "fp16",
        "model.fp16.onnx",
        "onnx",
        "gantool.export.makers.variants:make_fp16",
        ("onnxruntime",),
        variant="fp16",
        source="onnx",
        gated=True,
    ),
    ArtifactKind(
        "int8",
        "model.int8.onnx",
        "onnx",
        "gantool.export.makers.variants:make_int8",
        ("onnxruntime",),
        variant="int8",
        source="onnx",
        gated=True,
    ),
    ArtifactKind(
        "pt2",
        "model.pt2",
        "pt2",
        "gantool.export.makers.torch_files:export_pt2",
        ("torch.export",),
        metadata="zip",
        help="Write model.pt2 (torch.export; loads with torch.export.load).",
    ),
    ArtifactKind(
        "ort",
        "model.ort",
        "ort",
        "gantool.export.makers.onnx:export_ort",
        ("onnxruntime",),
        source="onnx",
        companions=("model.required_operators.config",),
        help="Write model.ort (onnxruntime's mobile format) and its required-operators config.",
    ),
    ArtifactKind(
        "pte",
        "model.pte",
        "executorch",
        "gantool.export.makers.executorch:export_executorch",
        ("executorch",),
        metadata="sidecar",
        extra="executorch",
        needs="executorch",
        help="Write model.pte (ExecuTorch, XNNPACK); with --int8 also model.int8.pte. Needs gantool[executorch].",
    ),
    ArtifactKind(
        "pte-int8",
        "model.int8.pte",
        "executorch",
        "gantool.export.makers.executorch:export_executorch_int8",
        ("executorch",),
        metadata="sidecar",
        variant="int8",
        source="pte",
        gated=True,
        extra="executorch",
        needs="executorch",
    ),
    ArtifactKind(
        "seeded",
        "model.seeded.onnx",
        "seeded",
        "gantool.export.makers.seeded:make_seeded",
        ("onnxruntime",),
        source="onnx",
        seeded=True,
        help="Write model.seeded.onnx: takes int64 seeds and draws each latent in the graph, the same "
        "in every runtime (with --int8/--fp16: those too).",
    ),
    ArtifactKind(
        "seeded-fp16",
        "model.seeded.fp16.onnx",
        "seeded",
        "gantool.export.makers.seeded:make_seeded",
        ("onnxruntime",),
        variant="fp16",
        source="fp16",
        seeded=True,
    ),
    ArtifactKind(
        "seeded-int8",
        "model.seeded.int8.onnx",
        "seeded",
        "gantool.export.makers.seeded:make_seeded",
        ("onnxruntime",),
        variant="int8",
        source="int8",
        seeded=True,
    ),
    # Plain C99 for microcontrollers, from the seeded int8 file: verified image by image against it
    # (identical share and largest level difference), built with the host's C compiler when there is one.
    ArtifactKind(
        "c",
        "gantool_generator.c",
        "c",
        "gantool.export.c.maker:export_c",
        ("c",),
        metadata="sidecar",
        variant="int8",
        source="seeded-int8",
        gated=True,
        verifier="gantool.export.c.maker:verify_c",
        companions=("gantool_generator.h",),
        archs=("dcgan",),
        precheck="gantool.export.c.maker:precheck_c",
        help="Write gantool_generator.c + .h: plain C99 for microcontrollers (int8 kernels, no "
        "allocation, same digit per seed), from the seeded int8 file; built and compared here "
        "when a C compiler is found. Budgets: --max-flash, --max-sram.",
    ),
    # LiteRT (TensorFlow Lite) for Android and embedded Linux: converted by litert-torch from the
    # PyTorch module at a fixed batch of 1 (gantool.export.makers.litert says why), run by ai-edge-litert.
    ArtifactKind(
        "tflite",
        "model.tflite",
        "tflite",
        "gantool.export.makers.litert:export_tflite",
        ("litert",),
        metadata="sidecar",
        extra="litert",
        needs="litert_torch",
        help="Write model.tflite (LiteRT / TensorFlow Lite, XNNPack, fixed batch 1); with --int8 also "
        "model.int8.tflite. Needs gantool[litert]; the torch-free Sampler opens it with "
        "gantool[litert-runtime].",
    ),
    ArtifactKind(
        "tflite-int8",
        "model.int8.tflite",
        "tflite",
        "gantool.export.makers.litert:export_tflite_int8",
        ("litert",),
        metadata="sidecar",
        variant="int8",
        source="tflite",
        gated=True,
        extra="litert",
        needs="litert_torch",
    ),
    # Verified by gates, not atol: OpenVINO's CPU plugin runs bf16 by default here, and even its f32
    # mode reorders sums (measured up to ~1e-3 on a trained model); both precisions are verified.
    ArtifactKind(
        "openvino",
        "model.xml",
        "openvino",
        "gantool.export.makers.openvino:export_openvino",
        ("openvino", "openvino.bf16"),
        metadata="sidecar",
        source="onnx",
        gated=True,
        extra="openvino",
        needs="openvino",
        companions=("model.bin",),
        help="Write model.xml + model.bin (OpenVINO IR); with --int8 also model.int8.xml (NNCF). Needs "
        "gantool[openvino].",
    ),
    ArtifactKind(
        "openvino-int8",
        "model.int8.xml",
        "openvino",
        "gantool.export.makers.openvino:export_openvino_int8",
        ("openvino",),
        metadata="sidecar",
        variant="int8",
        source="openvino",
        gated=True,
        extra="openvino",
        needs="nncf",
        companions=("model.int8.bin",),
    ),
):
    register_artifact(_k)
