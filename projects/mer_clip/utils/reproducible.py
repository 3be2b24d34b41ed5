"""The reproducible CPU mode: runs whose numbers do not depend on the processor.

On a CPU, torch and the libraries under it pick their kernels by the processor's instruction sets
(ATen's dispatch, oneDNN's ISA, MKL's code path; numpy's and OpenCV's in the data pipeline) and by
the thread count; a tiny model trained for 20 epochs turns their last-bit differences into other
predictions (docs/reproducibility.md, the measured table). This mode pins each of them to a path every x86-64 processor runs the same way:

- **environment pins** (:data:`ENV_PINS`): read by the libraries when they load, so they must be
  in a process's environment before it starts. The tools re-start themselves with them
  (:func:`reexec_with_pins`), the LOSO scheduler gives them to every fold process and worker
  (:func:`pinned_environ`); torchrun's ranks and data workers inherit them.
- **in-process settings** (:func:`apply_in_process`): one torch thread, deterministic algorithms;
  applied at ``import mer_clip`` in every process whose environment carries :data:`MODE_ENV`.

A process asked to compute in this mode that does not have the pins (an in-process call from an
unpinned interpreter) is refused with :class:`ReproducibleModeError`, naming what differs: it
cannot pin itself after torch loaded its kernels.
"""
import os
import platform
import sys
from typing import Dict, List, Optional, Sequence

MODE_ENV = 'MER_CLIP_REPRODUCIBLE'  # '1' in every process of a reproducible run
MODE_REPRODUCIBLE = 'reproducible'
MODE_DEFAULT = 'default'

#: pinned before a process starts: the kernel paths (docs/reproducibility.md) and the threads
ENV_PINS: Dict[str, str] = {
    'ATEN_CPU_CAPABILITY': 'default',  # ATen's kernels without SIMD dispatch
    'ONEDNN_MAX_CPU_ISA': 'SSE41',     # oneDNN's convolutions / matmuls: the oldest ISA it has
    'MKL_CBWR': 'COMPATIBLE',          # MKL's conditional numerical reproducibility: one path
    # the data pipeline's numpy and OpenCV run their SIMD variants too (augmentations: the largest
    # source measured): only their baseline code (numpy x86-64-v2, OpenCV SSE3)
    'NPY_DISABLE_CPU_FEATURES': 'X86_V3 X86_V4 AVX512_ICL AVX512_SPR',
    'OPENCV_CPU_DISABLE': 'SSE4.1,SSE4.2,POPCNT,AVX,FP16,AVX2,FMA3,AVX_VNNI,AVX512F,AVX512-SKX,'
                          'AVX512-CLX',
    'OMP_NUM_THREADS': '1',            # one thread: sums in one order
    'MKL_NUM_THREADS': '1',
}
#: set in the process by :func:`apply_in_process`
IN_PROCESS_PINS: Dict[str, object] = {'torch_threads': 1, 'deterministic_algorithms': True}


class ReproducibleModeError(RuntimeError):
    """A process of a reproducible run without the pins (or with others)."""


def pins() -> Dict[str, object]:
    """Everything the mode pins, as recorded in loso_run.json and summary.json."""
    return dict(env=dict(ENV_PINS), in_process=dict(IN_PROCESS_PINS))


def mode_record(reproducible: bool) -> Dict[str, object]:
    """The CPU mode of a run, part of its identity (``loso_run.json``)."""
    if not reproducible:
        return dict(mode=MODE_DEFAULT)
    return dict(mode=MODE_REPRODUCIBLE, pins=pins())


def pinned_environ(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """A copy of ``environ`` (default: this process's) with the pins and :data:`MODE_ENV`."""
    env = dict(os.environ if environ is None else environ)
    env.update(ENV_PINS)
    env[MODE_ENV] = '1'
    return env


def kernel_path() -> str:
    """ATen's kernel path in this process (``DEFAULT``, ``AVX2``, ``AVX512``, ...)."""
    import torch
    return str(torch.backends.cpu.get_cpu_capability())


def process_differences(environ: Optional[Dict[str, str]] = None) -> List[str]:
    """What keeps this process from the mode: each pin missing from its environment, and ATen's
    kernel path when it is not the pinned one (empty: the process is pinned)."""
    env = os.environ if environ is None else environ
    out = [f'{k}={env.get(k, "(unset)")} instead of {v}' for k, v in ENV_PINS.items()
           if env.get(k) != v]
    if 'torch' in sys.modules and kernel_path().lower() != ENV_PINS['ATEN_CPU_CAPABILITY']:
        out.append(f'ATen runs its {kernel_path()} kernels (ATEN_CPU_CAPABILITY was set after '
                   'torch was imported)')
    return out


def require_pinned(what: str) -> None:
    """Refuse to compute ``what`` in the mode from a process without its pins."""
    missing = process_differences()
    if missing:
        raise ReproducibleModeError(
            f'{what} runs in the reproducible mode, but this process is not pinned: '
            f'{"; ".join(missing)}. The pins act only when a process starts: run it through '
            'tools/loso.py, tools/train.py or tools/test.py with --reproducible (they restart '
            'themselves with the pins), or start Python with them (mer_clip.utils.reproducible.'
            'pinned_environ).')
    apply_in_process()


def apply_in_process() -> None:
    """The in-process settings of the mode (:data:`IN_PROCESS_PINS`) in this process."""
    import torch
    torch.set_num_threads(int(IN_PROCESS_PINS['torch_threads']))
    torch.use_deterministic_algorithms(bool(IN_PROCESS_PINS['deterministic_algorithms']))


def activate_from_environ() -> None:
    """At ``import mer_clip``: a process started in the mode (:data:`MODE_ENV`) checks its pins
    and applies the in-process settings; others are left as they are."""
    if os.environ.get(MODE_ENV) == '1':
        require_pinned(f'this process ({MODE_ENV}=1 in its environment)')


def reexec_with_pins(argv: Optional[Sequence[str]], script: str) -> None:
    """A tool's ``--reproducible``: return when this process is pinned (its settings applied),
    otherwise replace it by the same command with the pins (``argv``: the command's arguments,
    None when the tool was called as a function: then refuse, it cannot restart its caller)."""
    if not process_differences():
        apply_in_process()
        return
    if argv is None or os.environ.get(MODE_ENV) == '1':  # called in-process, or a restart failed
        require_pinned(script)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, script, *argv], pinned_environ())


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``; else what ``platform`` knows)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown'


def process_record() -> Dict[str, object]:
    """How this process computes: CPU, ATen's kernel path, threads, deterministic algorithms,
    oneDNN / MKL availability and the environment pins it holds (fold.json, summary.json)."""
    import torch
    return dict(cpu_model=cpu_model(), kernel_path=kernel_path(),
                torch_threads=torch.get_num_threads(),
                deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
                mkldnn=bool(torch.backends.mkldnn.is_available()),
                mkl=bool(torch.backends.mkl.is_available()),
                env={k: os.environ.get(k) for k in ENV_PINS},
                mode=MODE_REPRODUCIBLE if os.environ.get(MODE_ENV) == '1' else MODE_DEFAULT)


__all__ = ['ENV_PINS', 'IN_PROCESS_PINS', 'MODE_ENV', 'ReproducibleModeError',
           'activate_from_environ', 'apply_in_process', 'cpu_model', 'kernel_path', 'mode_record',
           'pinned_environ', 'pins', 'process_differences', 'process_record', 'reexec_with_pins',
           'require_pinned']
