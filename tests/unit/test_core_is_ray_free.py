import subprocess
import sys


def test_importing_the_core_does_not_import_ray():
    code = (
        "import sys, callytics_ray, callytics_ray.pipeline, callytics_ray.storage, callytics_ray.cli, "
        "callytics_ray.export, callytics_ray.api; assert 'ray' not in sys.modules, 'ray was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
