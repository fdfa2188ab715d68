# PyTorch yardstick for the convolutional pair (the Keras KD example's shapes, as in kdlab's
# createConvNet): Conv2D(f1, 3, stride 2, 'same') -> LeakyReLU(0.2) -> MaxPool(2, stride 1, 'same')
# -> Conv2D(f2, 3, stride 2, 'same') -> Flatten -> Dense(10), on 28x28 MNIST, batch 128, Adam 1e-3.
#   teacher (256/512 filters): one hard-label training step
#   student (16/32 filters):   one KD step from cached teacher logits, T = 4, alpha = 0.5
# Prints samples/s (wall clock) and samples per CPU-second of this process, on one thread, after
# `warmup` untimed steps (3 unless given). Usage:
#   OPENBLAS_NUM_THREADS=1 python3 kd_conv_step_torch.py IDX_IMAGES teacher|student [steps] [warmup]
# Copied from shared/bench/kd_conv_step_torch.py; `kdlab bench train --model conv-*` runs it.
import sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1); torch.manual_seed(0)
which = sys.argv[2]; steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 3
if which not in ('teacher', 'student'): sys.exit(f"kd_conv_step_torch.py: mode must be teacher or student, got {which}")
f1, f2 = (256, 512) if which == 'teacher' else (16, 32)
raw = open(sys.argv[1], 'rb').read(); bs = 128; N = bs * max(steps, warmup)
x = torch.tensor(np.frombuffer(raw, dtype=np.uint8, offset=16)[:N * 784].reshape(N, 1, 28, 28).astype(np.float32) / 255)
y = torch.randint(0, 10, (N,)); tl = torch.randn(N, 10) * 5

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, f1, 3, stride=2); self.c2 = nn.Conv2d(f1, f2, 3, stride=2)
        self.fc = nn.Linear(7 * 7 * f2, 10)
    def forward(self, v):
        v = F.leaky_relu(self.c1(F.pad(v, (0, 1, 0, 1))), 0.2)          # 'same', stride 2: 28 -> 14
        v = F.max_pool2d(F.pad(v, (0, 1, 0, 1), value=float('-inf')), 2, stride=1)  # 'same': 14 -> 14
        v = self.c2(F.pad(v, (0, 1, 0, 1)))                             # 14 -> 7
        return self.fc(v.flatten(1))

m = Net(); opt = torch.optim.Adam(m.parameters(), 1e-3); T, a = 4.0, 0.5
def step(i):
    xb, yb, tb = x[i:i + bs], y[i:i + bs], tl[i:i + bs]
    opt.zero_grad(); s = m(xb)
    if which == 'teacher':
        loss = F.cross_entropy(s, yb)
    else:
        loss = a * F.kl_div(F.log_softmax(s / T, -1), F.softmax(tb / T, -1), reduction='batchmean') * T * T + (1 - a) * F.cross_entropy(s, yb)
    loss.backward(); opt.step()
for i in range(0, warmup * bs, bs): step(i)
t0 = time.perf_counter(); c0 = time.process_time()
for i in range(0, steps * bs, bs): step(i)
dt = time.perf_counter() - t0; dc = time.process_time() - c0
print(f"{steps * bs / dt:.1f} {steps * bs / dc:.1f}")
