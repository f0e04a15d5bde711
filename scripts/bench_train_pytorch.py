#!/usr/bin/python3
"""Reference for the node trainer benchmark: trains the same TorchScript
model on the same examples with PyTorch (Debian's python3-torch), same batch
size and optimizer, data already in memory. Prints images/s."""
import sys
import time

import torch


def main():
    work, images, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if threads > 0:
        torch.set_num_threads(threads)
    x = torch.from_file(f"{work}/x.f32", size=images * 28 * 28, dtype=torch.float32).view(images, 1, 28, 28)
    y = torch.from_file(f"{work}/y.i64", size=images, dtype=torch.int64)
    model = torch.jit.load(f"{work}/cnn.pt")
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def epoch(seed):
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(images, generator=g)
        for start in range(0, images, 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch(0)  # warm-up
    t0 = time.perf_counter()
    for e in range(1, epochs + 1):
        epoch(e)
    seconds = time.perf_counter() - t0
    print(f"pytorch {torch.__version__}: {images} images x {epochs} epochs, batch 32, "
          f"{images * epochs / seconds:.0f} images/s")


if __name__ == "__main__":
    main()
