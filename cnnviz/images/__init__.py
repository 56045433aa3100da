"""Photos: safe loading of uploads (`loading`), named image kernels (`kernels`), filtering (`filtering`)."""
