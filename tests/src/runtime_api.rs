//! A Lambda Runtime API double, so a function's real binary (its `main`, configuration and
//! event decoding) runs as it does in Lambda: the process long-polls `invocation/next`, gets an
//! event, and posts a response or an error. `sam local invoke` needs Docker, which this
//! machine does not have; this is the documented stand-in.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::http::{read_request, reply};
use crate::local_aws::LocalAws;

const API: &str = "/2018-06-01/runtime";
/// What one invocation returned: the response body, or the error the function reported.
pub type Invocation = Result<Value, Value>;

#[derive(Default)]
struct Queue {
    pending: VecDeque<(String, Vec<u8>)>,
    results: HashMap<String, Invocation>,
    init_error: Option<Value>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

/// A function binary running against the double. Dropping it stops the process.
pub struct LambdaProcess {
    child: Child,
    shared: Arc<Shared>,
    output: Arc<Mutex<Vec<String>>>,
    next_id: u64,
    name: String,
}

/// The path of a workspace binary, built first (once per test process) so the test runs what
/// the source says. Uses the same cargo, profile and target directory as the running test.
pub fn function_binary(package: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().expect("build lock");
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    // target/<profile>/deps/<test> or target/<profile>/<binary> -> target/<profile>/<package>
    let exe = std::env::current_exe().expect("own executable");
    let dir = exe.parent().expect("target/<profile>");
    let profile_dir =
        if dir.ends_with("deps") { dir.parent().expect("target/<profile>") } else { dir };
    let path = profile_dir.join(package);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let status = Command::new(cargo)
        // The whole workspace's binaries, so features unify exactly as in `cargo test
        // --workspace` and the SDK is not compiled a second time for one binary.
        .args(["build", "--quiet", "--profile", profile, "--workspace", "--bins"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}: {e}"));
    assert!(status.success(), "building {package} failed");
    assert!(path.exists(), "{} missing after the build", path.display());
    built.insert(package.to_string(), path.clone());
    path
}

/// The environment a function needs to reach the local emulator as it would reach AWS:
/// endpoint, dummy credentials, region, path-style S3 and JSON logs.
pub fn emulator_env(aws: &LocalAws) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", aws.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", crate::EMULATOR_REGION.to_string()),
        ("ACCOUNT_ID", crate::EMULATOR_ACCOUNT.to_string()),
        ("S3_FORCE_PATH_STYLE", "true".to_string()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_string()),
    ]
}

/// `env` for `function` (its template logical ID): credentials whose session token names the
/// function deployed as `env` and `params` say, so each call the process makes is checked
/// against that function's policy in template.yaml (see [`LocalAws::deploy`]).
pub fn deployed_env(
    aws: &LocalAws,
    function: &str,
    mut env: Vec<(&'static str, String)>,
    params: &[(&str, &str)],
) -> Vec<(&'static str, String)> {
    let token = aws.deploy(function, &env, params);
    env.push(("AWS_SESSION_TOKEN", token));
    env
}

impl LambdaProcess {
    /// Start `binary` with only `env` (plus what the Lambda environment always sets), talking
    /// to a fresh Runtime API double on 127.0.0.1.
    pub fn start(binary: &Path, env: &[(&str, String)]) -> LambdaProcess {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind runtime api");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function").to_string();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child =
            command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().expect("output").push(line);
                }
            });
        }
        LambdaProcess { child, shared, output, next_id: 0, name }
    }

    /// Invoke the function with `event` and wait for its answer (up to two minutes).
    pub fn invoke(&mut self, event: &Value) -> Invocation {
        self.next_id += 1;
        let id = format!("req-{}-{}", self.name, self.next_id);
        let mut q = self.shared.queue.lock().expect("queue");
        q.pending.push_back((id.clone(), event.to_string().into_bytes()));
        self.shared.changed.notify_all();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(result) = q.results.remove(&id) {
                return result;
            }
            if let Some(e) = &q.init_error {
                panic!("{} failed to start: {e}\n{}", self.name, self.output().join("\n"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                drop(q);
                std::thread::sleep(Duration::from_millis(200));
                panic!("{} exited ({status}):\n{}", self.name, self.output().join("\n"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{} did not answer:\n{}", self.name, self.output().join("\n"));
            q = self
                .shared
                .changed
                .wait_timeout(q, left.min(Duration::from_millis(200)))
                .expect("queue")
                .0;
        }
    }

    /// What the process printed so far (stdout and stderr lines).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output").clone()
    }

    /// What the process printed once it has stopped printing: an answer can reach the Runtime
    /// API before the reader threads have taken the lines printed before it. Waits until the
    /// output has not grown for 300 ms (at most 5 s).
    pub fn settled_output(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = self.output().len();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.output().len();
            if now == seen || Instant::now() > deadline {
                return self.output();
            }
            seen = now;
        }
    }

    /// How the process ended, waiting up to `wait` (a cold start that fails exits, and Lambda
    /// reports `Runtime.ExitError` with the process's last output).
    pub fn exit_status(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100)); // let the output readers finish
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        let path = request.path.strip_prefix(API).unwrap_or(&request.path).to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if request.method == "GET" && path == "/invocation/next" {
            let (id, event) = next(shared);
            let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
                + Duration::from_secs(60);
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:local\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n",
                deadline_ms.as_millis(),
                event.len()
            )?;
            writer.write_all(&event)?;
            continue;
        }
        let mut q = shared.queue.lock().expect("queue");
        if path == "/init/error" {
            q.init_error = Some(body);
        } else if let Some(rest) = path.strip_prefix("/invocation/") {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let result = if kind == "response" { Ok(body) } else { Err(body) };
            q.results.insert(id.to_string(), result);
        }
        shared.changed.notify_all();
        drop(q);
        reply(&mut writer, "202 Accepted", "application/json", b"{\"status\":\"OK\"}")?;
    }
    Ok(())
}

/// Block until an invocation is queued (the real API long-polls the same way).
fn next(shared: &Shared) -> (String, Vec<u8>) {
    let mut q = shared.queue.lock().expect("queue");
    loop {
        if let Some(item) = q.pending.pop_front() {
            return item;
        }
        q = shared.changed.wait(q).expect("queue");
    }
}
