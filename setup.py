"""Package layout: one import namespace.

The repository keeps its layers at the top level (`training/`, `serving/`, `evaluation/`, the layout
docs/design.md describes); they install as `groomguard.training`, `groomguard.serving` and
`groomguard.evaluation` through setuptools' `package_dir` mapping, so the wheel has a single
top-level package and no generic `training` that another package could shadow. The default
configs (`configs/*.yaml`) install the same way, as `groomguard.configs` (read with
importlib.resources, so an installed wheel finds them outside the repository). Everything else
(metadata, dependencies, package data) is in pyproject.toml.
"""

from setuptools import find_packages, setup

LAYERS = ("training", "serving", "evaluation")

packages = find_packages(include=["groomguard", "groomguard.*"])
for layer in LAYERS:
    packages += [f"groomguard.{name}" for name in find_packages(include=[layer, f"{layer}.*"])]
packages.append("groomguard.configs")
package_dir = {f"groomguard.{layer}": layer for layer in LAYERS}
package_dir["groomguard.configs"] = "configs"

setup(packages=packages, package_dir=package_dir)
