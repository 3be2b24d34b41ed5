# htnet-small: NOT the published HTNet (same structure, dim 32, blocks (1, 1, 2), 0.56 M
# parameters) on the MEGC2019
# composite: HTNet's four facial areas (CropFacialAreas: left / right eye, left / right lip, 14 x 14
# each, around the record's landmarks5) of the onset-apex flow image (u, v, strain), 3 classes,
# LOSO over the 68 subjects. Our schedule: the one of every flow config
# (adamw_flow_tiny.py; per fold the schedule chosen on training subjects only, --fold-cfg-options
# configs/megc2019/flow_schedules_selected.json); the authors' schedule:
# htnet-small_flow-28px_1xb256-800e_megc2019-3cls.py.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/loso.py configs/megc2019/htnet-small_flow-28px_1xb32-40e_megc2019-3cls.py --seed 0
# \
#       --fold-cfg-options configs/megc2019/flow_schedules_selected.json
_base_ = [
    '../_base_/models/htnet_small_flow.py', '../_base_/datasets/megc2019_flow_areas.py',
    '../_base_/schedules/adamw_flow_tiny.py', '../_base_/flow_runtime.py'
]
