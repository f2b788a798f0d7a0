"""The plain-C export for microcontrollers, in one room.

graph.py reads the verified seeded int8 ONNX file, lower.py turns it into typed layers (layers.py;
phase.py finds the phase groups, tables.py computes the 256-entry tables with onnxruntime),
source.py writes gantool_generator.c/.h from them with the kernels in kernels/*.c, maker.py is the
artifact row's maker (export, budgets, the seed-by-seed check) and backend.py runs a generated file
through the host's C compiler.
"""
