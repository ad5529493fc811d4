"""The dataset stage: ImageNet scan, statistical subset, prepared tensors, loaders."""
