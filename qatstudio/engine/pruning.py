"""Per-neuron pruning: each neuron keeps at most ``budget`` non-zero inputs."""
from __future__ import annotations

import torch
from torch import nn


def neuron_masks(layers: list[nn.Linear], budget: int) -> list[torch.Tensor | None]:
    """For each layer, a 0/1 mask keeping the ``budget`` largest-magnitude inputs of every neuron.

    Layers with no more inputs than the budget get ``None`` (nothing to prune).
    """
    masks: list[torch.Tensor | None] = []
    for layer in layers:
        weight = layer.weight.detach()
        if weight.shape[1] <= budget:
            masks.append(None)
            continue
        keep = weight.abs().topk(budget, dim=1).indices
        mask = torch.zeros_like(weight)
        mask.scatter_(1, keep, 1.0)
        masks.append(mask)
    return masks


@torch.no_grad()
def apply_masks(layers: list[nn.Linear], masks: list[torch.Tensor | None]) -> None:
    """Zero the pruned weights in place (call after every optimizer step to keep the mask)."""
    for layer, mask in zip(layers, masks):
        if mask is not None:
            layer.weight.mul_(mask)


def max_nonzero_per_neuron(layers: list[nn.Linear]) -> list[int]:
    return [int((layer.weight.detach() != 0).sum(dim=1).max()) for layer in layers]


def structured_masks(layers: list[nn.Linear], keep: int) -> list[torch.Tensor | None]:
    """Whole-neuron pruning: each hidden layer keeps its ``keep`` neurons with the largest
    incoming times outgoing weight norms; a removed neuron loses its inputs (row) and the next
    layer's reads of it (column), so the lowering drops it and its lookup."""
    masks = [torch.ones_like(layer.weight.detach()) for layer in layers]
    for index in range(len(layers) - 1):
        incoming = layers[index].weight.detach().norm(dim=1)
        outgoing = layers[index + 1].weight.detach().norm(dim=0)
        if keep >= len(incoming):
            continue
        dropped = (incoming * outgoing).argsort(descending=True)[keep:]
        masks[index][dropped, :] = 0
        masks[index + 1][:, dropped] = 0
    return masks


def combine_masks(*mask_lists: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """Element-wise product of per-layer masks (None = keep everything)."""
    combined = []
    for masks in zip(*mask_lists):
        present = [m for m in masks if m is not None]
        if not present:
            combined.append(None)
            continue
        product = present[0].clone()
        for mask in present[1:]:
            product *= mask
        combined.append(product)
    return combined
