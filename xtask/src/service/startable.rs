//! Whether an image can start its app, asked without starting it: real
//! apps read their settings at import, so the app is not imported. The
//! image's own Python compiles the app's sources and looks up the modules
//! they import, and uvicorn, in the image.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::contract::is_app_reference;
use crate::engine::{Engine, ImageConfig};

/// Run in the image, in its working directory, with `MODULE:ATTR` as its
/// argument: prints the problems found, as JSON. Writes nothing. Any
/// uvicorn will do: the image's command hands it the app itself.
const CHECK: &str = r#"
import ast, importlib.util, json, os, sys
app = sys.argv[1] if len(sys.argv) > 1 else ""
here = os.getcwd()
problems = []
if importlib.util.find_spec("uvicorn") is None:
    problems.append("uvicorn, the ASGI server, is not installed in the image: add it to libraries.list")
def parse(path):
    try:
        with open(path, "rb") as source:
            return ast.parse(source.read(), path)
    except SyntaxError as error:
        problems.append(f"{os.path.relpath(path, here)} line {error.lineno}: {error.msg}")
sources = [] if here == "/" else [os.path.join(top, name) for top, dirs, files in os.walk(here)
                                  for name in files if name.endswith(".py")]
trees = {path: parse(path) for path in sources}
if app:
    module, _, attr = app.partition(":")
    # Where `import module` would find it, without importing it: a
    # package's __init__ may read settings as well.
    bases = [os.path.join(base or here, *module.split(".")) for base in sys.path]
    found = [name for base in bases for name in (base + ".py", os.path.join(base, "__init__.py")) if os.path.isfile(name)]
    path = found[0] if found else None
    if path is None:
        extra = os.environ.get("PYTHONPATH", "")
        problems.append(f"there is no module {module} in {here}" + (f" nor on PYTHONPATH {extra}" if extra else ""))
    else:
        tree = trees[path] if path in trees else parse(path)
        local = {os.path.splitext(name)[0] for name in os.listdir(here)}
        bound = set()
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        for node in tree.body if tree else []:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for top in {name.split(".")[0] for name in names}:
                if top not in local and importlib.util.find_spec(top) is None:
                    problems.append(f"{os.path.relpath(path, here)} imports {top}, which is not installed in the image: add it to libraries.list")
        if tree and attr not in bound and "*" not in bound:
            problems.append(f"{os.path.relpath(path, here)} defines no {attr}")
# One line per problem: every `from fastapi import …` names the same one.
print(json.dumps({"problems": list(dict.fromkeys(problems))}))
"#;

#[derive(Deserialize)]
struct Found {
    problems: Vec<String>,
}

/// Fails with the reasons when the image `id`, configured as `config`,
/// cannot start its app.
pub fn check(engine: &Engine, id: &str, config: &ImageConfig) -> Result<()> {
    let app = app_of(config).unwrap_or_default();
    let said = engine.run_once(id, "python", &["-c", CHECK, &app]).context("cannot check the image with its python")?;
    let found: Found = serde_json::from_str(&said).with_context(|| format!("cannot read the image check `{said}`"))?;
    if !found.problems.is_empty() {
        let app = if app.is_empty() { String::new() } else { format!(" {app}") };
        bail!("The image cannot start its app{app}: {}.", found.problems.join("; "));
    }
    Ok(())
}

/// `MODULE:ATTR` as the image names it to uvicorn: on the command line
/// (uvicorn's or gunicorn's), or in `UVICORN_APP`, as our Dockerfile sets
/// it.
fn app_of(config: &ImageConfig) -> Option<String> {
    let words = config.entrypoint.iter().chain(config.cmd.iter()).flatten().flat_map(|arg| arg.split_whitespace());
    let in_command = words.filter(|word| !word.starts_with('-')).find(|word| is_app_reference(word));
    in_command.or_else(|| config.env("UVICORN_APP").filter(|app| is_app_reference(app))).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cmd: &[&str]) -> ImageConfig {
        ImageConfig { cmd: Some(cmd.iter().map(|s| s.to_string()).collect()), ..ImageConfig::default() }
    }

    #[test]
    fn the_app_is_read_from_the_command() {
        let ours = config(&["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]);
        assert_eq!(app_of(&ours).as_deref(), Some("main:app"));
        let shell = config(&["/bin/sh", "-c", "gunicorn -k uvicorn.workers.UvicornWorker app.main:api -b 0.0.0.0:80"]);
        assert_eq!(app_of(&shell).as_deref(), Some("app.main:api"));
        assert_eq!(app_of(&config(&["python", "serve.py", "--bind", "0.0.0.0:8000"])), None);
        // Our Dockerfile's command, which hands UVICORN_APP to uvicorn.
        let dockerfile = std::fs::read_to_string(crate::sys::project::root().join("docker/Dockerfile")).unwrap();
        let cmd = dockerfile.lines().find_map(|line| line.strip_prefix("CMD ")).unwrap();
        let cmd: Vec<String> = serde_json::from_str(cmd).unwrap();
        let by_env = ImageConfig {
            env: Some(vec!["UVICORN_APP=app.main:app".into()]),
            ..config(&cmd.iter().map(String::as_str).collect::<Vec<_>>())
        };
        assert_eq!(app_of(&by_env).as_deref(), Some("app.main:app"));
    }
}
