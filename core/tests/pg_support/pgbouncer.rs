//! PgBouncer in transaction mode for the pooler tests: Debian's `pgbouncer` started on a free loopback port with
//! `pool_mode = transaction` and `auth_type = trust`, forwarding every database to the test server, and killed
//! when the handle drops. Without the binary the caller skips its test with a printed reason, unless
//! `PREGEN_REQUIRE_PGBOUNCER=1` (CI) makes that a failure.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The variable that turns a missing `pgbouncer` from a skip into a failure.
pub const REQUIRE_ENV: &str = "PREGEN_REQUIRE_PGBOUNCER";

/// A running PgBouncer, killed (and reaped) on drop.
#[derive(Debug)]
pub struct Bouncer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// Where the binary is: `PATH`, then Debian's `/usr/sbin`.
fn binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("pgbouncer"));
    on_path.chain([PathBuf::from("/usr/sbin/pgbouncer")]).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

impl Bouncer {
    /// Starts PgBouncer in front of the local test server (`127.0.0.1:5432`), or returns `None` after printing
    /// why the test is skipped.
    ///
    /// Panics when the binary is missing and [`REQUIRE_ENV`] is `1`, or when it does not start.
    pub fn start() -> Option<Self> {
        let Some(binary) = binary() else {
            let reason = "pgbouncer is not installed (apt-get install pgbouncer)";
            assert!(std::env::var(REQUIRE_ENV).as_deref() != Ok("1"), "{REQUIRE_ENV}=1 but {reason}");
            eprintln!("SKIPPED: {reason}");
            return None;
        };
        // A port taken between the look and the bind makes PgBouncer exit: try another.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(&binary) {
                Ok(bouncer) => return Some(bouncer),
                Err(e) => last = e,
            }
        }
        panic!("pgbouncer did not start: {last}");
    }

    fn try_start(binary: &Path) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Readable by the user PgBouncer switches to when started as root.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let port = free_port();
        let userlist = dir.path().join("userlist.txt");
        std::fs::write(&userlist, "\"postgres\" \"\"\n").map_err(|e| e.to_string())?;
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host=127.0.0.1 port=5432\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 admin_users = postgres\n\
                 auth_file = {}\n\
                 pool_mode = transaction\n\
                 max_client_conn = 1000\n\
                 default_pool_size = 20\n\
                 ignore_startup_parameters = extra_float_digits\n",
                userlist.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        for file in [&userlist, &ini] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
        }
        let log = dir.path().join("pgbouncer.log");
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        // PgBouncer refuses to run as root; it drops to `postgres` when asked.
        if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let mut bouncer = Self { child, port, dir };
        for _ in 0..2_000 {
            if let Ok(Some(status)) = bouncer.child.try_wait() {
                return Err(format!("exited with {status}: {}", bouncer.log()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(bouncer);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("not listening on port {port}: {}", bouncer.log()))
    }

    /// PgBouncer's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("pgbouncer.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` through PgBouncer, as `postgres` (trusted).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
