"""Every name the package re-exports resolves, and importing the package pulls in no jax."""

import subprocess
import sys

import jaxdissect


def test_every_export_resolves():
    for name in jaxdissect.__all__:
        assert getattr(jaxdissect, name) is not None, name


def test_unknown_name_is_an_attribute_error():
    try:
        jaxdissect.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_package_import_is_lazy():
    code = "import sys, jaxdissect, jaxdissect.report; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
