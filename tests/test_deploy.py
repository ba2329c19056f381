"""Export, the encrypted-inference server and its client, end to end on 127.0.0.1: a real uvicorn
server in a child process, real Concrete circuits and keys."""
import json
import os
import re
import select
import socket
import stat
import subprocess
import sys
import textwrap

import httpx
import numpy as np
import pytest
from conftest import small_config
from processes import alive

from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.deploy.bundle import BundleError, load_bundle
from qatstudio.services.deploy.client import ClientError, EncryptedClient
from qatstudio.services.deploy.export import export_bundle
from qatstudio.services.deploy.local import LocalServer
from qatstudio.services.deploy.protocol import API, CIRCUIT_HEADER
from qatstudio.services.datasets import TableStore
from qatstudio.services.experiment_file import save_experiment

pytestmark = pytest.mark.slow


def _deploy(tmp_path_factory, dataset, name, **changes):
    experiment = run_experiment(small_config(**changes), dataset, simulate=False)
    folder = tmp_path_factory.mktemp(name) / "bundle"
    export_bundle(experiment, folder, TableStore(), source=f"{name}.qats")
    return experiment, folder


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, small_dataset):
    return _deploy(tmp_path_factory, small_dataset, "main", n_hidden=8, bits=3, epochs=2)


@pytest.fixture(scope="module")
def other(tmp_path_factory, small_dataset):
    """Another circuit (other bit-width, other crypto parameters)."""
    return _deploy(tmp_path_factory, small_dataset, "other", n_hidden=4, bits=2, epochs=1)


@pytest.fixture(scope="module")
def server_home(tmp_path_factory):
    return tmp_path_factory.mktemp("server-home")


@pytest.fixture(scope="module")
def client_keys(tmp_path_factory):
    return tmp_path_factory.mktemp("client-keys")


@pytest.fixture(scope="module")
def other_client(other):
    """Concrete's client for the other circuit, with keys."""
    from concrete import fhe

    from qatstudio.engine.fhe import generate_keys

    client = fhe.Client(fhe.ClientSpecs.deserialize(load_bundle(other[1]).specs))
    client.keys = generate_keys(client.specs)
    return client


@pytest.fixture(scope="module")
def server(deployed, server_home):
    local = LocalServer(deployed[1], env={"QATSTUDIO_HOME": str(server_home)}).start()
    process, workers = local.process, _children(local.process.pid)
    assert workers
    yield local
    local.stop()
    assert process.poll() is not None
    assert all(not alive(pid) for pid in workers), "the server left worker processes behind"


def _children(pid):
    done = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in done.stdout.split()]


def test_export_writes_a_versioned_bundle(deployed):
    experiment, folder = deployed
    bundle = load_bundle(folder)
    info = bundle.info
    assert info["format"] == 2 and info["versions"]["concrete-python"]
    assert info["scaling"] is None and info["features"] == ["x1", "x2"] and info["classes"] == ["0", "1"]
    assert info["features"] and len(info["classes"]) == len(experiment.integer_model.output_scale)
    assert info["accuracy"]["clear_accuracy"] == experiment.metrics.clear_accuracy
    assert info["circuit"]["pbs_count"] == experiment.stats.pbs_count
    points = np.random.default_rng(1).uniform(-0.2, 1.2, (50, 2)).astype(np.float32)
    client = bundle.client_model()
    assert np.array_equal(client.quantize_inputs(points), experiment.integer_model.quantize_inputs(points))
    assert "weights" not in json.dumps(info)
    assert (folder / "README.md").read_text().startswith("# QAT Studio deployment")


def test_export_refuses_a_folder_with_other_files(deployed, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="other files"):
        export_bundle(deployed[0], tmp_path, TableStore())
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_load_bundle_says_what_is_wrong(deployed, tmp_path):
    with pytest.raises(BundleError, match="not a deployment folder"):
        load_bundle(tmp_path)
    for name in ("model.json", "client.specs.json", "server.zip"):
        (tmp_path / name).write_bytes((deployed[1] / name).read_bytes())
    (tmp_path / "client.specs.json").write_bytes(b"{}")
    with pytest.raises(BundleError, match="does not belong"):
        load_bundle(tmp_path)


def test_bundle_predicts_like_the_app_in_a_fresh_process(deployed):
    """Concrete's own server and client, loaded from the folder alone, agree with the clear model."""
    experiment, folder = deployed
    points = np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.2], [0.3, 0.8]])
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from concrete import fhe
        from qatstudio.engine.fhe import generate_keys
        from qatstudio.services.deploy.bundle import load_bundle
        bundle = load_bundle({str(folder)!r})
        server = fhe.Server.load(bundle.server_path)
        client = fhe.Client(fhe.ClientSpecs.deserialize(bundle.specs))
        client.keys = generate_keys(client.specs)
        model = bundle.client_model()
        classes = []
        for x in model.quantize_inputs(np.array({points.tolist()!r}, dtype=np.float32)):
            result = server.run(client.encrypt(x), evaluation_keys=client.evaluation_keys)
            classes.append(int(model.dequantize_outputs(np.ravel(client.decrypt(result))[None]).argmax()))
        print(json.dumps(classes))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == experiment.integer_model.predict(points).tolist()


def test_predictions_through_the_server_equal_the_clear_model(deployed, server, client_keys, small_dataset):
    experiment, _ = deployed
    points = small_dataset.x_test[:4]
    with EncryptedClient(server.url, keys_dir=client_keys) as client:
        predictions = client.predict(points)
        assert client.upload.sent_bytes > 0
    assert [p.label for p in predictions] == experiment.integer_model.predict(points).tolist()
    for prediction in predictions:
        assert prediction.timing.sent_bytes > 0 and prediction.timing.received_bytes > 0
        assert prediction.timing.server_s > 0
    # the secret key stays here, readable by the user only
    keys = list(client_keys.glob("*.keys"))
    assert len(keys) == 1 and stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(client_keys.stat().st_mode) == 0o700
    # a second client reuses the keys and the upload
    with EncryptedClient(server.url, keys_dir=client_keys) as again:
        assert again.ensure_keys() is True
        assert again.ensure_uploaded().sent_bytes == 0
        assert again.predict(points[:1])[0].label == predictions[0].label


def test_the_server_never_receives_a_secret_key(deployed, server, client_keys, server_home):
    from concrete.compiler import Keyset

    with EncryptedClient(server.url, keys_dir=client_keys) as client:
        client.predict([[0.2, 0.4]])
        secret_keys = Keyset.deserialize_from_file(str(client.keys_path)).get_client_keys().get_secret_keys()
    windows = []
    for key in secret_keys:
        data = key.serialize()
        windows.append(data[len(data) // 2: len(data) // 2 + 256])
    observed = httpx.get(f"{server.url}{API}/observed").json()["payloads"]
    assert {p["kind"] for p in observed} <= {"evaluation keys", "ciphertext in", "ciphertext out"}
    stored = list((server_home / "cache" / "server-keys").rglob("*.keys"))
    assert stored
    for path in stored:
        data = path.read_bytes()
        assert not any(window in data for window in windows)


def test_bad_payloads_get_a_4xx_with_a_message(deployed, other, other_client, server, client_keys):
    url = server.url
    with EncryptedClient(url, keys_dir=client_keys) as client:
        key_id = client.ensure_uploaded().key_id
        good_keys = client.evaluation_keys()
        ciphertext = client.encrypt(client.quantize([0.5, 0.5]))
    circuit = load_bundle(deployed[1]).circuit_id
    foreign = load_bundle(other[1])
    foreign_ciphertext = other_client.encrypt(
        foreign.client_model().quantize_inputs(np.array([[0.5, 0.5]]))[0]).serialize()
    cases = [
        ("POST", f"{API}/keys", b"not keys at all" * 10, {CIRCUIT_HEADER: circuit}, 422),
        ("POST", f"{API}/keys", good_keys[: len(good_keys) // 3], {CIRCUIT_HEADER: circuit}, 422),
        ("POST", f"{API}/keys", b"x" * 100, {}, 400),
        ("POST", f"{API}/keys", b"x" * 100, {CIRCUIT_HEADER: foreign.circuit_id}, 409),
        ("POST", f"{API}/keys", b"", {CIRCUIT_HEADER: circuit}, 400),
        ("POST", f"{API}/predict/{key_id}", b"\x00" * 64, {}, 422),
        ("POST", f"{API}/predict/{key_id}", ciphertext[: len(ciphertext) // 2], {}, 422),
        ("POST", f"{API}/predict/{key_id}", foreign_ciphertext, {}, 422),
        ("POST", f"{API}/predict/{key_id}", ciphertext + bytes(1 << 20), {}, 413),
        ("POST", f"{API}/predict/{key_id}", ciphertext * 2, {}, 422),
        ("POST", f"{API}/predict/{'0' * 32}", ciphertext, {}, 404),
        ("POST", f"{API}/predict/../../etc", ciphertext, {}, 404),
        ("GET", f"{API}/keys/{'f' * 32}", None, {}, 404),
    ]
    for method, path, body, headers, status in cases:
        response = httpx.request(method, url + path, content=body, headers=headers, timeout=120)
        assert response.status_code == status, (path, response.text)
        assert response.json()["detail"]
    # a declared terabyte is refused before a byte of it is read
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(f"POST {API}/keys HTTP/1.1\r\nHost: x\r\n{CIRCUIT_HEADER}: {circuit}\r\n"
                    f"Content-Length: {1 << 40}\r\n\r\n".encode())
        assert raw.recv(100).startswith(b"HTTP/1.1 413")
    with EncryptedClient(url, keys_dir=client_keys) as client:  # still serving
        assert client.predict([[0.5, 0.5]])[0].label == deployed[0].integer_model.predict(np.array([[0.5, 0.5]]))[0]


def test_a_bogus_key_upload_is_refused_from_its_first_bytes(deployed, server):
    """An upload is read as it arrives: bytes that can't start evaluation keys, or whose own header
    claims more than this circuit's keys take, are answered at once, the rest never awaited."""
    circuit = load_bundle(deployed[1]).circuit_id
    bogus = b"not keys at all " * 4096  # the first 64 kB of a declared 8 MB
    claims_34_gb = (0).to_bytes(4, "little") + (2**32 - 1).to_bytes(4, "little") + bytes((64 << 10) - 8)
    chunked = f"{len(claims_34_gb):x}\r\n".encode() + claims_34_gb + b"\r\n"  # no size declared, no end
    for framing, first, status, words in [(f"Content-Length: {8 << 20}", bogus, 422, b"not in Concrete's format"),
                                          ("Transfer-Encoding: chunked", chunked, 413, b"their header says")]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
            raw.sendall(f"POST {API}/keys HTTP/1.1\r\nHost: x\r\n{CIRCUIT_HEADER}: {circuit}\r\n"
                        f"{framing}\r\n\r\n".encode() + first)
            answered, _, _ = select.select([raw], [], [], 30)
            assert answered, f"the server waited for the rest of the upload ({framing})"
            answer = raw.recv(1 << 16)
            while not re.search(rb"\r\n\r\n.*" + words, answer, re.S) and (more := raw.recv(1 << 16)):
                answer += more  # the body may come after the headers
        assert answer.startswith(f"HTTP/1.1 {status}".encode()) and words in answer, answer[:300]
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"


def test_keys_for_another_circuit_are_refused_without_a_crash(deployed, other_client, server, client_keys):
    """Keys made for another circuit but claimed for this one: Concrete aborts the process that runs
    them; that is a worker, so the server answers 422, forgets the keys and goes on."""
    url, circuit = server.url, load_bundle(deployed[1]).circuit_id
    foreign_keys = other_client.evaluation_keys.serialize()
    uploaded = httpx.post(f"{url}{API}/keys", content=foreign_keys, headers={CIRCUIT_HEADER: circuit}, timeout=120)
    assert uploaded.status_code == 200
    foreign_id = uploaded.json()["key_id"]
    with EncryptedClient(url, keys_dir=client_keys) as client:
        ciphertext = client.encrypt(client.quantize([0.5, 0.5]))
        answer = httpx.post(f"{url}{API}/predict/{foreign_id}", content=ciphertext, timeout=300)
        assert answer.status_code == 422 and "not made for this circuit" in answer.json()["detail"]
        assert httpx.get(f"{url}{API}/keys/{foreign_id}").status_code == 404
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        point = np.array([[0.5, 0.5]])
        prediction = client.predict(point)[0]
        quantized = deployed[0].integer_model
        assert np.array_equal(prediction.outputs, quantized.forward_int(quantized.quantize_inputs(point))[0]), \
            (prediction, client.upload, httpx.get(f"{url}{API}/observed").json())


def test_client_errors_in_words(tmp_path):
    with pytest.raises(ClientError, match="can't reach"):
        EncryptedClient("http://127.0.0.1:9", keys_dir=tmp_path)


def test_command_line_export_and_predict(deployed, server, client_keys, private_home, tmp_path, capsys):
    """``qatstudio export`` then ``qatstudio predict`` against the running server (the module's
    client keys are copied in, so no new keys are made)."""
    import shutil

    from qatstudio.cli import main

    experiment, _ = deployed
    run_file = save_experiment(tmp_path / "run.qats", experiment, TableStore())
    assert main(["export", str(run_file), str(tmp_path / "out")]) == 0
    assert load_bundle(tmp_path / "out").info["source"] == "run.qats"
    assert main(["export", str(tmp_path / "missing.qats"), str(tmp_path / "out2")]) == 2
    assert "missing.qats" in capsys.readouterr().err

    shutil.copytree(client_keys, private_home / "cache" / "client-keys", dirs_exist_ok=True)
    assert main(["predict", "--server", server.url, "--points", "0.1,0.1", "0.9,0.2"]) == 0
    out = capsys.readouterr().out.splitlines()
    clear = experiment.integer_model.predict(np.array([[0.1, 0.1], [0.9, 0.2]]))
    rows = [line.split() for line in out[1:]]
    assert [row[1] for row in rows] == [str(label) for label in clear]  # the class names
    assert all("kB" in line or " B" in line for line in out[1:])
    assert main(["predict", "--server", server.url, "--points", "0.1"]) == 2
    assert "needs 2 values" in capsys.readouterr().err


def test_predict_takes_the_training_files_format_and_checks_it_before_making_keys(deployed, server, client_keys,
                                                                                private_home, tmp_path, capsys):
    """``predict --csv``: a header line naming the features in any order, a label column left in; the
    old lines of numbers still work; a file that doesn't fit the model is refused before any key exists."""
    import shutil

    from qatstudio.cli import main

    points = np.array([[0.1, 0.1], [0.9, 0.2], [0.4, 0.8]])
    keys_dir = private_home / "cache" / "client-keys"
    refused = [("x1,x3\n0.1,0.2\n", "has no column 'x2': the model takes 2 features (x1, x2)"),
               ("x2,x1,y,note\n0.1,0.2,0,a\n", "columns the model doesn't take ('y', 'note')"),
               ("0.1,0.2,0.3\n", "has 3 values per line but the model takes 2 features"),
               ("x1,x2\n0.1,\n", "column 'x2' of points.csv has no finite number on line 2"),
               ("x1;x2\n0,1;0,2\n", "column 'x1' of points.csv uses decimal commas")]
    for text, words in refused:
        (tmp_path / "points.csv").write_text(text)
        assert main(["predict", "--server", server.url, "--csv", str(tmp_path / "points.csv")]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
        assert not list(keys_dir.glob("*.keys")), "keys were made for a file that doesn't fit"
    shutil.copytree(client_keys, keys_dir, dirs_exist_ok=True)
    clear = [str(label) for label in deployed[0].integer_model.predict(points)]
    with_header = "y,x2,x1\n" + "".join(f"1,{b},{a}\n" for a, b in points)
    for text in (with_header, "".join(f"{a},{b}\n" for a, b in points)):
        (tmp_path / "points.csv").write_text(text)
        assert main(["predict", "--server", server.url, "--csv", str(tmp_path / "points.csv")]) == 0
        rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
        assert [row[0] for row in rows] == [f"{a:.3f},{b:.3f}" for a, b in points]
        assert [row[1] for row in rows] == clear


def test_predict_shows_key_progress_and_prints_each_answer_as_it_arrives(deployed, server, server_home,
                                                                         private_home, tmp_path, capsys,
                                                                         monkeypatch):
    """Fresh keys: stderr says they are being made and how long it takes, and shows the upload; each
    answer is printed before the next point is sent, and an error on point 2 keeps point 1's answer."""
    import io
    import time

    from qatstudio.cli import main
    from qatstudio.services.deploy.client import KEYGEN_RATE_FILE

    circuit_keys = server_home / "cache" / "server-keys" / load_bundle(deployed[1]).circuit_id
    started = time.time()

    class Stdout(io.StringIO):
        """Where the rows go: when the first answer is printed, how many points has the server seen?
        Then its keys go away, so the next point fails."""
        sent_at_first_answer = None

        def write(self, text):
            written = super().write(text)
            if self.sent_at_first_answer is None and self.getvalue().count("\n") == 2:
                seen = httpx.get(f"{server.url}{API}/observed").json()["payloads"]
                self.sent_at_first_answer = sum(p["kind"] == "ciphertext in" and p["time"] >= started for p in seen)
                for path in circuit_keys.glob("*.keys"):
                    path.unlink()
            return written

    stdout = Stdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    (tmp_path / "points.csv").write_text("x1,x2\n0.1,0.1\n0.9,0.2\n0.4,0.8\n")
    assert main(["predict", "--server", server.url, "--csv", str(tmp_path / "points.csv")]) == 2
    err = capsys.readouterr().err
    assert "making keys for this circuit" in err and "making keys: " in err and "uploading evaluation keys: " in err
    assert "point 2 of 3: " in err and "unknown key id" in err
    rows = stdout.getvalue().splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[0] == "0.100,0.100" and stdout.sent_at_first_answer == 1
    assert (private_home / "cache" / "client-keys" / KEYGEN_RATE_FILE).exists()
    with EncryptedClient(server.url) as client:  # the next keys made here come with an estimate
        assert client.keygen_estimate_s > 0
        assert client.ensure_uploaded().sent_bytes  # the server holds keys again, as the next tests expect


def test_a_table_model_takes_raw_values_and_answers_with_class_names(tmp_path, private_home, capsys):
    """A 4-feature table: the client scales raw values as the data set did, the server's answers equal
    the clear model's on the same raw values, and ``predict --points`` takes 4 values per point."""
    from qatstudio.cli import main
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    tables = TableStore()
    tables.remember(imported)
    config = small_config(n_hidden=6, bits=2, epochs=2, data=imported.data_config())
    dataset = tables.dataset_for(config.data)
    experiment = run_experiment(config, dataset, simulate=False)
    folder = tmp_path / "bundle"
    export_bundle(experiment, folder, tables, source="machines.qats")
    info = load_bundle(folder).info
    assert info["features"] == ["temperature_c", "vibration_mm_s", "current_a", "batch_digit"]
    assert info["classes"] == ["0", "1"] and info["scaling"] == dataset.scaling.to_dict()
    raw = imported.table.features[:6]  # as in the file
    clear = experiment.integer_model.predict(dataset.scaling.apply(raw))
    local = LocalServer(folder, env={"QATSTUDIO_HOME": str(private_home)}).start()
    try:
        with EncryptedClient(local.url, keys_dir=tmp_path / "keys") as client:
            predictions = client.predict(raw)
        assert [p.label for p in predictions] == clear.tolist()
        assert np.array_equal(predictions[0].point, raw[0])
        low, high = imported.table.features.min(axis=0), imported.table.features.max(axis=0)
        outside = np.array([low - 3 * (high - low), high + 3 * (high - low), np.where([1, 0, 1, 0], low - 1, high + 1)])
        clear_ints = experiment.integer_model.quantize_inputs(dataset.scaling.apply(outside))
        with EncryptedClient(local.url, keys_dir=tmp_path / "keys") as client:  # outside the training range
            answers = client.predict(outside)
        assert [list(p.inputs) for p in answers] == clear_ints.tolist()
        assert np.array_equal([p.outputs for p in answers], experiment.integer_model.forward_int(clear_ints))
        values = ",".join(f"{v:g}" for v in raw[0])
        assert main(["predict", "--server", local.url, "--points", values]) == 0
        out = capsys.readouterr().out.splitlines()
        assert "temperature_c,vibration_mm_s,current_a,batch_digit" in out[0]
        assert out[1].split()[1] == info["classes"][clear[0]]
        assert main(["predict", "--server", local.url, "--points", "61.9,6.07"]) == 2
        assert "needs 4 values (temperature_c, vibration_mm_s, current_a, batch_digit)" in capsys.readouterr().err
    finally:
        local.stop()


def test_keys_survive_a_restart_and_the_least_recently_used_go_first(deployed, other_client, server, server_home):
    """Last in this file (it stops the module's server). The server stops and starts again: known keys are still there; with a budget of one key set,
    uploading another evicts the older one."""
    server.stop()
    home = {"QATSTUDIO_HOME": str(server_home)}
    circuit = load_bundle(deployed[1]).circuit_id
    known = [p.stem for p in (server_home / "cache" / "server-keys" / circuit).glob("*.keys")]
    assert known
    local = LocalServer(deployed[1], env=home, extra_args=("--key-budget-mb", "1")).start()
    try:
        assert httpx.get(f"{local.url}{API}/keys/{known[0]}").status_code == 200
        newer = other_client.evaluation_keys.serialize()
        answer = httpx.post(f"{local.url}{API}/keys", content=newer, headers={CIRCUIT_HEADER: circuit}, timeout=120)
        assert answer.status_code == 200
        assert httpx.get(f"{local.url}{API}/keys/{answer.json()['key_id']}").status_code == 200
        assert httpx.get(f"{local.url}{API}/keys/{known[0]}").status_code == 404
    finally:
        local.stop()
