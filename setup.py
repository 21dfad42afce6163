"""One build step pyproject.toml cannot say: the recording-notice prompts are kept once
in the repository, in ``dialplan/sounds/`` (what an Asterisk administrator installs),
and are copied into the built package as ``hotline/sounds/``, so that an installed
hotline (a wheel, the Docker image) plays its notice without a source checkout. An
editable install reads them from ``dialplan/sounds/`` itself (``hotline.sip.config``).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROMPTS = Path(__file__).resolve().parent / "dialplan" / "sounds"
PACKAGED = Path("hotline", "sounds")


class BuildWithPrompts(build_py):
    def _prompts(self) -> list[tuple[Path, Path]]:
        if self.editable_mode:
            return []
        target = Path(self.build_lib) / PACKAGED
        return [(wav, target / wav.name) for wav in sorted(PROMPTS.glob("*.wav"))]

    def run(self) -> None:
        super().run()
        prompts = self._prompts()
        if not prompts and not self.editable_mode:
            raise SystemExit(f"no recording-notice prompts in {PROMPTS}: nothing to ship")
        for source, target in prompts:
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        return outputs + [str(target) for _, target in self._prompts()]


setup(cmdclass={"build_py": BuildWithPrompts})
