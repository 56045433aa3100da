"""The convolution core: arguments, output sizes, the ops themselves, counts, size formulas, one output
explained, the convolution as a matrix, and named kernels and input patterns. Depends on nothing else in
cnnviz but `cnnviz.errors`."""
