"""A config's keys and class count validated before anything trains.

mmengine keeps every top-level name of a config file and passes each registry-built dict to its
class as keyword arguments, so a typo either does nothing (``modle = dict(...)`` trains the base
model, exit 0) or ends in a raw ``TypeError`` after the data has loaded. :func:`check_config` runs
when a tool reads its config (:func:`mer_clip.apis.config.load_config`: tools/train.py, test.py
and the LOSO plan, before the first fold) and raises :class:`ConfigError`: one line naming the key.

1. **Top-level names.** A name is *read* when mmengine's Runner, mmaction's or this project's tools
   read it (:func:`read_keys`); the project's configs also define *variables*
   (:data:`CONFIG_VARIABLES`, and any name starting with ``_``), which mmengine keeps but nothing
   reads: helpers interpolated inside the file that defines them (``train_pipeline``). The rule: a
   name that is neither read nor a variable and is a close match (difflib ratio >= 0.8) of a read
   name is a misspelling (``modle``: did you mean ``model``?); any other name is a user's helper.
   ``--cfg-options`` is stricter: a top-level name the file does not define and nothing reads is an
   error whatever its spelling (set after the file was read, it cannot reach anything).
2. **Nested arguments.** Each registry-built dict (``type=...``) of the model (recursively, except
   under ``*_cfg`` keys: ``init_cfg`` / ``norm_cfg`` follow mmcv's builders), the dataloaders,
   their datasets and pipelines, the loops, the optimizer wrapper and optimizer, the parameter
   schedulers, hooks, evaluators, visualizer and log processor is checked against the signature of
   the class its registry resolves (the config's ``default_scope``). A class taking ``**kwargs`` is
   followed into its base class when its ``__init__`` only passes them on (mmaction's heads to
   ``BaseHead``), and skipped otherwise; an unresolvable ``type`` is left to the build, which
   names it.
3. **Class count.** ``num_classes`` of every model part (``model.cls_head``) must equal the number
   of classes of the datasets' ``class_scheme`` (a ``None`` scheme, read from the annotation file,
   is not checked here).

A user's own keys: ``allowed_extra_keys = ['my_key', 'model.cls_head.my_arg']`` in the config (a
top-level name, or the path of a nested key as the error prints it), so that it travels with the
config to every tool and LOSO fold. The check lives in ``apis`` beside its one caller, not in
``utils`` (below every module): it resolves the registries and the class schemes.
"""
import ast
import difflib
import functools
import importlib
import inspect
import textwrap
import types
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from ..datasets.class_schemes import get_class_scheme
from ..utils.config import DATALOADERS, inner_dataset_cfg

#: the config variable that lists a user's own keys
ALLOW_KEY = 'allowed_extra_keys'
#: what mmengine's Runner reads besides its ``__init__`` arguments (``self.cfg.get(...)``)
RUNNER_CFG_KEYS = ('model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
                   'activation_checkpointing', 'efficient_conv_bn_eval', 'compile')
#: what the tools read: mmengine's Config (custom_imports), mmaction's tools/train.py
#: (runner_type), this project (loso_subject: apis.config; loso_fold_mode: loso.plan;
#: test_pipeline: apis.inference; allow_partial_load, final_checkpoint_weights_only:
#: engine.hooks.CheckpointContentsHook) and this check
TOOL_KEYS = ('custom_imports', 'runner_type', 'loso_subject', 'loso_fold_mode', 'test_pipeline',
             'allow_partial_load', 'final_checkpoint_weights_only', ALLOW_KEY)
#: the variables the project's configs define (configs/, _base_ included): helpers, read by nothing
CONFIG_VARIABLES = (
    'ann_file', 'au_prompt', 'aug_augmix', 'aug_color_jitter', 'aug_flip', 'aug_lsfm',
    'aug_pipeline', 'base_lr', 'batch_size', 'class_scheme', 'clip_len', 'clip_text_ckpt',
    'clip_vit_b16_ckpt', 'crop_areas', 'crop_size', 'data_root', 'dataset_type', 'flow_flip',
    'flow_size', 'format_pipeline', 'framing', 'htnet', 'input_size', 'load_flow',
    'load_pipeline', 'max_epochs', 'meta_keys', 'num_classes', 'num_frames', 'num_workers',
    'short_side', 'test_split', 'train_pipeline', 'uniformerv2_ssv2_ckpt', 'vis_backends',
    'visual_dim', 'warmup_epochs')
#: difflib ratio from which an unread top-level name is taken for a misspelt read one
TYPO_RATIO = 0.8
#: keys of optim_wrapper.paramwise_cfg that mmengine's DefaultOptimWrapperConstructor reads
PARAMWISE_KEYS = ('custom_keys', 'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult',
                  'dwconv_decay_mult', 'flat_decay_mult', 'bypass_duplicate', 'dcn_offset_lr_mult')
#: keys of env_cfg that mmengine's Runner.setup_env reads
ENV_KEYS = ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit')
REGISTRY_NAMES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS', 'LOOPS',
                  'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
                  'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS')
BUILD_KEYS = ('type', '_scope_')


class ConfigError(ValueError):
    """A config key that nothing reads, or a model that does not fit the datasets' classes."""


@functools.lru_cache(maxsize=None)
def read_keys() -> FrozenSet[str]:
    """The top-level names that mmengine's Runner or the tools read."""
    from mmengine.runner import Runner
    runner_args = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    return frozenset(runner_args.union(RUNNER_CFG_KEYS, TOOL_KEYS))


# ---------------------------------------------------------------------------------- signatures
def _kwargs_passed_on(init, name: str) -> Optional[Tuple[str, ...]]:
    """When ``init`` only passes ``**name`` on to a base ``__init__`` (reading it with ``get`` /
    ``[]`` / ``in`` / ``setdefault`` on the way): the keys it pops by name (they are its own
    arguments); None when it does anything else with them."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(init))))
    except (OSError, TypeError, SyntaxError):
        return None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    passed, popped = False, []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.keyword) and parent.arg is None:  # f(**name)
            call = parents.get(parent)
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == '__init__'):
                return None  # passed to something else
            passed = True
        elif isinstance(parent, ast.Subscript) and isinstance(node.ctx, ast.Load) and \
                isinstance(parent.ctx, ast.Load):
            continue  # name['x']
        elif isinstance(parent, ast.Compare) and node is not parent.left:
            continue  # 'x' in name
        elif isinstance(parent, ast.Attribute) and parent.attr in ('get', 'pop', 'setdefault'):
            call = parents.get(parent)
            if parent.attr != 'pop':
                continue
            if not (isinstance(call, ast.Call) and call.args and
                    isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value,
                                                                          str)):
                return None
            popped.append(call.args[0].value)
        else:
            return None
    return tuple(popped) if passed else None


def _named_parameters(sig: inspect.Signature, skip: int = 0) -> Tuple[List[str], Optional[str]]:
    """The keyword-passable parameter names (the first ``skip`` left out: ``self``) and the name of
    ``**kwargs`` (None without)."""
    names, var_kw = [], None
    for p in list(sig.parameters.values())[skip:]:
        if p.kind == p.VAR_KEYWORD:
            var_kw = p.name
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.append(p.name)
    return names, var_kw


@functools.lru_cache(maxsize=None)
def accepted_arguments(obj) -> Optional[FrozenSet[str]]:
    """The keyword arguments ``obj(**kwargs)`` accepts (a class, or a function: ``self`` of an
    unbound method left out); None when it takes any (``**kwargs`` not only passed on to a base
    class, or no signature)."""
    if not inspect.isclass(obj):
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        names, var_kw = _named_parameters(sig, skip=int(next(iter(sig.parameters), '') == 'self'))
        return None if var_kw else frozenset(names)
    import torch
    names = set()
    for klass in obj.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass in (object, torch.nn.Module):  # both refuse any keyword argument
            return frozenset(names)
        if not isinstance(inspect.unwrap(init), types.FunctionType):
            return None  # implemented in C: no reliable signature
        try:
            params, var_kw = _named_parameters(inspect.signature(init), skip=1)
        except (TypeError, ValueError):
            return None
        names.update(params)
        if var_kw is None:
            return frozenset(names)
        popped = _kwargs_passed_on(init, var_kw)
        if popped is None:
            return None
        names.update(popped)
    return frozenset(names)


# ---------------------------------------------------------------------------------- the checker
def _close(key: str, candidates: Iterable[str], cutoff: float = 0.6) -> Optional[str]:
    match = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


@functools.lru_cache(maxsize=None)
def _registries(scope: Optional[str]) -> Dict[str, object]:
    """The registries of the default scope (mmaction's, children of mmengine's), by name."""
    import mmengine.registry as fallback
    try:
        module = importlib.import_module(f'{scope}.registry') if scope else fallback
    except ImportError:
        module = fallback
    return {name: getattr(module, name, getattr(fallback, name)) for name in REGISTRY_NAMES}


class _Checker:
    """Walks one config and collects its problems (strings, each naming the key's path)."""

    def __init__(self, cfg, allowed: FrozenSet[str]) -> None:
        self.cfg = cfg
        self.allowed = allowed
        self.registries = _registries(cfg.get('default_scope') or None)
        self.problems: Dict[str, List[str]] = {}  # problem -> the paths that have it

    def resolve(self, registry: str, obj_type):
        if callable(obj_type):
            return obj_type
        if not isinstance(obj_type, str):
            return None
        try:
            return self.registries[registry].get(obj_type)
        except Exception:  # unknown type: the build itself says so, naming the registry
            return None

    def keys(self, cfg: dict, path: str, accepted: Optional[Iterable[str]], owner: str = '',
             extra: Iterable[str] = ()) -> None:
        """Every key of ``cfg`` must be in ``accepted`` or ``extra`` (or allowed by the user);
        ``accepted`` None: anything is (a signature that cannot be checked)."""
        if accepted is None:
            return
        accepted = set(accepted).union(extra)
        for key in cfg:
            if key in accepted or key in BUILD_KEYS or f'{path}.{key}' in self.allowed:
                continue
            hint = _close(str(key), accepted)
            if hint:
                hint = f"; did you mean {hint!r}?"
            else:
                names = sorted(a for a in accepted if not a.startswith('_'))
                hint = (f" ({owner + ' ' if owner else ''}takes {', '.join(names[:12])}"
                        f"{', ...' if len(names) > 12 else ''})")
            self.problems.setdefault(f'unexpected {key!r}{hint}', []).append(path)

    def built(self, cfg, path: str, registry: str, extra: Sequence[str] = (),
              default_type: Optional[str] = None):
        """A registry-built dict against the signature of its class; returns the class."""
        if not isinstance(cfg, dict):
            return None
        cls = self.resolve(registry, cfg.get('type', default_type))
        if cls is not None:
            self.keys(cfg, path, accepted_arguments(cls), getattr(cls, '__name__', ''), extra)
        return cls

    # ------------------------------------------------------------------------------ sections
    def model(self, cfg, path: str) -> None:
        if isinstance(cfg, dict) and 'type' in cfg:
            self.built(cfg, path, 'MODELS')
        if isinstance(cfg, dict):
            for key, value in cfg.items():
                if not str(key).endswith('_cfg'):  # init_cfg, norm_cfg: mmcv's builders
                    self.model(value, f'{path}.{key}')
        elif isinstance(cfg, (list, tuple)):
            for i, value in enumerate(cfg):
                self.model(value, f'{path}[{i}]')

    def transforms(self, pipeline, path: str) -> None:
        for i, t in enumerate(pipeline or ()):
            if isinstance(t, dict):
                self.built(t, f'{path}[{i}]', 'TRANSFORMS')
                if isinstance(t.get('transforms'), (list, tuple)):  # RandomChoice, Compose...
                    self.transforms(t['transforms'], f'{path}[{i}].transforms')
            elif isinstance(t, (list, tuple)):
                self.transforms(t, f'{path}[{i}]')

    def dataset(self, cfg, path: str) -> None:
        if not isinstance(cfg, dict):
            return
        self.built(cfg, path, 'DATASETS')
        if isinstance(cfg.get('dataset'), dict):  # wrappers
            self.dataset(cfg['dataset'], f'{path}.dataset')
        for i, ds in enumerate(cfg.get('datasets') or ()):  # ConcatDataset
            self.dataset(ds, f'{path}.datasets[{i}]')
        if isinstance(cfg.get('pipeline'), (list, tuple)):
            self.transforms(cfg['pipeline'], f'{path}.pipeline')

    def dataloader(self, cfg, path: str) -> None:
        if not isinstance(cfg, dict):
            return
        from torch.utils.data import DataLoader
        self.keys(cfg, path, accepted_arguments(DataLoader), 'DataLoader',
                  ('num_batch_per_epoch', 'disable_subprocess_warning'))  # read by the Runner
        for key in ('sampler', 'batch_sampler'):
            self.built(cfg.get(key), f'{path}.{key}', 'DATA_SAMPLERS')
        self.dataset(cfg.get('dataset'), f'{path}.dataset')

    def loop(self, cfg, path: str, default: str) -> None:
        if not isinstance(cfg, dict):
            return
        if 'type' in cfg:
            self.built(cfg, path, 'LOOPS')
        elif path == 'train_cfg':
            if 'by_epoch' in cfg:
                self.built(cfg, path, 'LOOPS', ('by_epoch', ), 'EpochBasedTrainLoop'
                           if cfg['by_epoch'] else 'IterBasedTrainLoop')
        else:
            self.built(cfg, path, 'LOOPS', default_type=default)

    def optim_wrapper(self, cfg, path: str = 'optim_wrapper') -> None:
        if not isinstance(cfg, dict) or not ('optimizer' in cfg or 'type' in cfg):
            return  # several wrappers: a custom constructor reads them
        constructor = cfg.get('constructor', 'DefaultOptimWrapperConstructor')
        if constructor == 'DefaultOptimWrapperConstructor':
            self.built(cfg, path, 'OPTIM_WRAPPERS', ('optimizer', 'paramwise_cfg', 'constructor'),
                       'OptimWrapper')
            if isinstance(cfg.get('paramwise_cfg'), dict):
                self.keys(cfg['paramwise_cfg'], f'{path}.paramwise_cfg', PARAMWISE_KEYS,
                          'DefaultOptimWrapperConstructor')
        self.built(cfg.get('optimizer'), f'{path}.optimizer', 'OPTIMIZERS', ('params', ))

    def each(self, cfg, path: str, registry: str, extra: Sequence[str] = ()) -> None:
        """A dict or a list of dicts of one registry."""
        if isinstance(cfg, dict):
            self.built(cfg, path, registry, extra)
        elif isinstance(cfg, (list, tuple)):
            for i, item in enumerate(cfg):
                self.built(item, f'{path}[{i}]', registry, extra)

    def evaluator(self, cfg, path: str) -> None:
        if isinstance(cfg, dict) and 'metrics' in cfg:
            self.built(cfg, path, 'EVALUATOR', default_type='Evaluator')
            self.each(cfg['metrics'], f'{path}.metrics', 'METRICS')
        else:
            self.each(cfg, path, 'METRICS')

    def run(self) -> List[str]:
        cfg = self.cfg
        self.model(cfg.get('model'), 'model')
        self.model(cfg.get('data_preprocessor'), 'data_preprocessor')
        for name in DATALOADERS:
            self.dataloader(cfg.get(name), name)
        self.loop(cfg.get('train_cfg'), 'train_cfg', 'EpochBasedTrainLoop')
        self.loop(cfg.get('val_cfg'), 'val_cfg', 'ValLoop')
        self.loop(cfg.get('test_cfg'), 'test_cfg', 'TestLoop')
        self.optim_wrapper(cfg.get('optim_wrapper'))
        self.each(cfg.get('param_scheduler'), 'param_scheduler', 'PARAM_SCHEDULERS',
                  ('convert_to_iter_based', ))
        for name, hook in (cfg.get('default_hooks') or {}).items():
            self.built(hook, f'default_hooks.{name}', 'HOOKS', ('priority', ))
        self.each(cfg.get('custom_hooks'), 'custom_hooks', 'HOOKS', ('priority', ))
        for name in ('val_evaluator', 'test_evaluator'):
            self.evaluator(cfg.get(name), name)
        visualizer = cfg.get('visualizer')
        self.built(visualizer, 'visualizer', 'VISUALIZERS')
        if isinstance(visualizer, dict):
            self.each(visualizer.get('vis_backends'), 'visualizer.vis_backends', 'VISBACKENDS')
        self.built(cfg.get('log_processor'), 'log_processor', 'LOG_PROCESSORS')
        self.plain(cfg)
        # one line per problem: the dataloaders often share a dataset (and its typo)
        return [f"{paths[0]}{' (and ' + ', '.join(paths[1:]) + ')' if paths[1:] else ''}: {p}"
                for p, paths in self.problems.items()]

    def plain(self, cfg) -> None:
        """The plain dicts the Runner reads: randomness, env_cfg (and its mp_cfg)."""
        from mmengine.runner import Runner
        from mmengine.utils.dl_utils import set_multi_processing
        if isinstance(cfg.get('randomness'), dict):
            self.keys(cfg['randomness'], 'randomness', accepted_arguments(Runner.set_randomness),
                      'Runner.set_randomness')
        env = cfg.get('env_cfg')
        if isinstance(env, dict):
            self.keys(env, 'env_cfg', ENV_KEYS, 'Runner.setup_env')
            if isinstance(env.get('mp_cfg'), dict):
                self.keys(env['mp_cfg'], 'env_cfg.mp_cfg', accepted_arguments(
                    set_multi_processing), 'set_multi_processing')


# ---------------------------------------------------------------------------------- top level
def _allowed(cfg) -> FrozenSet[str]:
    allowed = cfg.get(ALLOW_KEY) or ()
    if isinstance(allowed, str) or not all(isinstance(k, str) for k in allowed):
        raise ConfigError(f'{ALLOW_KEY} must be a list of key names (e.g. '
                          f"{ALLOW_KEY} = ['my_key', 'model.cls_head.my_arg']), got {allowed!r}")
    return frozenset(allowed)


def top_level_problems(cfg, file_keys: Optional[Iterable[str]] = None,
                       option_keys: Sequence[str] = (),
                       allowed: FrozenSet[str] = frozenset()) -> List[str]:
    """Misspelt top-level names (the rule of the module docstring); ``option_keys``: the top-level
    names ``--cfg-options`` set, ``file_keys``: those the file defined."""
    read = read_keys()
    known = read.union(CONFIG_VARIABLES, allowed)
    file_keys = set(cfg.keys() if file_keys is None else file_keys)
    problems, reported = [], set()
    for key in dict.fromkeys(option_keys):
        if key not in file_keys and key not in known and not key.startswith('_'):
            hint = _close(key, read, TYPO_RATIO)
            problems.append(f'--cfg-options sets {key!r}, which the config does not define and '
                            'nothing reads' + (f'; did you mean {hint!r}?' if hint else ''))
            reported.add(key)
    for key in cfg.keys():
        if key in known or key in reported or key.startswith('_'):
            continue
        hint = _close(key, read, TYPO_RATIO)
        if hint:
            problems.append(f'top-level {key!r} is read by nothing; did you mean {hint!r}?')
    return problems


def _scheme_count(scheme) -> Tuple[str, int, str]:
    """(name, number of classes, the classes) of a ``class_scheme`` value."""
    resolved = get_class_scheme(scheme)
    label = scheme if isinstance(scheme, str) else resolved.name
    return label, resolved.num_classes, ', '.join(resolved.classes)


def _num_classes(cfg, path: str) -> Iterable[Tuple[str, int]]:
    """(path, value) of every integer ``num_classes`` in the model config."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'num_classes' and isinstance(value, int) and not isinstance(value, bool):
                yield f'{path}.{key}', value
            else:
                yield from _num_classes(value, f'{path}.{key}')
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            yield from _num_classes(value, f'{path}[{i}]')


def _depth(outer: dict, inner: dict) -> int:
    """How many dataset wrappers lie between ``outer`` and ``inner``."""
    depth = 0
    while outer is not inner:
        outer, depth = outer['dataset'], depth + 1
    return depth


def class_count_problem(cfg) -> Optional[str]:
    """The model's ``num_classes`` against the class scheme of the datasets (first mismatch)."""
    schemes = []
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
            continue
        ds = inner_dataset_cfg(loader['dataset'])
        if ds.get('class_scheme') is not None:
            path = f"{name}.dataset{'.dataset' * _depth(loader['dataset'], ds)}"
            try:
                schemes.append((path, *_scheme_count(ds['class_scheme'])))
            except (KeyError, ValueError, TypeError) as err:
                msg = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
                return f'{path}.class_scheme: {msg}'
    if not schemes:
        return None
    path0, label0, n0, classes0 = schemes[0]
    for path, label, n, _ in schemes[1:]:
        if n != n0:
            return (f'{path0}.class_scheme {label0!r} has {n0} classes but {path}.class_scheme '
                    f'{label!r} has {n}: give every dataloader the same task')
    for head, value in _num_classes(cfg.get('model'), 'model'):
        if value != n0:
            return (f'{head} is {value}, but the class scheme {label0!r} of the datasets has '
                    f'{n0} classes ({classes0}): set {head}={n0} (--cfg-options {head}={n0}) or '
                    f'give the datasets a class_scheme with {value} classes')
    return None


def check_config(cfg, *, source: str = 'config', file_keys: Optional[Iterable[str]] = None,
                 option_keys: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigError` (one line, starting with ``source``) when ``cfg`` has a misspelt
    or unknown key or a model whose class count does not fit its datasets."""
    allowed = _allowed(cfg)
    top = top_level_problems(cfg, file_keys, option_keys, allowed)
    problems = top + _Checker(cfg, allowed).run()
    if problems:
        more = ''.join(f'; also {p}' for p in problems[1:])
        note = f' (a name that your own code reads: list it in {ALLOW_KEY})' if top else ''
        raise ConfigError(f'{source}: {problems[0]}{more}{note}')
    count = class_count_problem(cfg)
    if count:
        raise ConfigError(f'{source}: {count}')


__all__ = ['ALLOW_KEY', 'CONFIG_VARIABLES', 'ConfigError', 'accepted_arguments', 'check_config',
           'class_count_problem', 'read_keys', 'top_level_problems']
