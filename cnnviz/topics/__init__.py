"""What each lesson computes, on top of `cnnviz.conv`: the 2D walkthrough, pooling, transposed
convolution, channels and groups, equivariance, downsampling, the quiz, and the lessons' links."""
