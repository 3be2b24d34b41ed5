# htnet-small: NOT the published HTNet (same structure, dim 32, blocks (1, 1, 2), 0.56 M
# parameters) with the HTNet
# authors' schedule (released main_HTNet.py): Adam lr 5e-5, constant, 800 epochs, batch 256,
# cross-entropy. Same data and areas as htnet-small_flow-28px_1xb32-40e_megc2019-3cls.py (the flip
# is
# ours: the authors' script does not augment). A fold reports its last epoch; the published numbers
# come from the best epoch on each test subject: tools/loso.py --select-on-test-fold-UNSAFE.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/loso.py configs/megc2019/htnet-small_flow-28px_1xb256-800e_megc2019-3cls.py --seed
# 0
_base_ = [
    '../_base_/models/htnet_small_flow.py', '../_base_/datasets/megc2019_flow_areas.py',
    '../_base_/schedules/adam_htnet_authors.py', '../_base_/flow_runtime.py'
]
train_dataloader = dict(batch_size=256)
