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


def test_dissect_is_the_function_after_any_import_order():
    # The engine's subpackage once shared the name of this function: importing anything under it
    # (as get_config does) replaced jaxdissect.dissect with the module.
    code = (
        "import jaxdissect, jaxdissect.dissection.engine;"
        "jaxdissect.get_config('pnas2020');"
        "import jaxdissect.dissection.driver;"
        "print(callable(jaxdissect.dissect), jaxdissect.dissect.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "jaxdissect.dissection.driver"]
