"""Live training: data sets, models, the trainer, runs and their scheduler, runs compared, a person's own
input. Importing this package loads torch; `import cnnviz` does not."""
