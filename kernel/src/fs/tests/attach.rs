//! Doors attached over paths: fattach and fdetach with their errors, and
//! what an attachment does to open, stat and the names it covers.

use super::*;

fn attach(fs: &mut TestFs, cred: Cred, path: &str, door: u32) -> Result<(), Errno> {
    fs.attach(cred, fs.root(), path.as_bytes(), door)
}

fn detach(fs: &mut TestFs, cred: Cred, path: &str) -> Result<u32, Errno> {
    fs.detach(cred, fs.root(), path.as_bytes())
}

fn open_door(fs: &mut TestFs, cred: Cred, path: &str, flags: u32) -> Result<Opened<u32>, Errno> {
    fs.open(cred, fs.root(), path.as_bytes(), flags, 0o644)
}

#[test]
fn an_attached_door_is_what_the_path_opens_until_detached() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/door", 0o644, b"beneath");
    let before = open(&mut fs, ALICE, "/tmp/door", O_RDWR).unwrap();
    attach(&mut fs, ALICE, "/tmp/door", 7).unwrap();
    assert_eq!(
        open_door(&mut fs, BOB, "/tmp/door", O_RDONLY),
        Ok(Opened::Door(7))
    );
    assert_eq!(
        open_door(&mut fs, ALICE, "/tmp/./door", O_CREAT | O_TRUNC),
        Ok(Opened::Door(7))
    );
    assert_eq!(
        open_door(&mut fs, BOB, "/tmp/door", O_CREAT | O_EXCL),
        Err(Errno::EEXIST)
    );
    let Statted::Door(7, covered) = fs.stat(BOB, fs.root(), b"/tmp/door").unwrap() else {
        panic!("not the door");
    };
    assert_eq!((covered.st_mode & 0o777, covered.st_uid), (0o644, 1000));
    assert_eq!(fs.usage().attachments, 1);
    assert_eq!(fs.attachments().collect::<Vec<_>>(), [7]);
    // A description opened before the door came keeps the file.
    assert_eq!(read(&mut fs, before, 7).unwrap(), b"beneath");
    assert_eq!(write(&mut fs, before, b"!"), Ok(1));
    assert_eq!(detach(&mut fs, ALICE, "/tmp/door"), Ok(7));
    assert_eq!(
        contents(&mut fs, "/tmp/door"),
        b"beneath!",
        "the file is uncovered"
    );
    assert_eq!(fs.usage().attachments, 0);
    fs.release(before);
    fs.audit();
}

#[test]
fn fattach_errors_follow_illumos() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    make_file(&mut fs, ALICE, "/tmp/ro", 0o444, b"");
    assert_eq!(attach(&mut fs, ALICE, "/tmp/none", 1), Err(Errno::ENOENT));
    assert_eq!(attach(&mut fs, ALICE, "/tmp/f/x", 1), Err(Errno::ENOTDIR));
    let long = std::format!("/tmp/{}", "x".repeat(PATH_MAX));
    assert_eq!(attach(&mut fs, ALICE, &long, 1), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        attach(&mut fs, BOB, "/tmp/f", 1),
        Err(Errno::EPERM),
        "not the owner"
    );
    assert_eq!(
        attach(&mut fs, ALICE, "/tmp/ro", 1),
        Err(Errno::EACCES),
        "owner, no write"
    );
    assert_eq!(attach(&mut fs, Cred::ROOT, "/", 1), Err(Errno::EBUSY));
    assert_eq!(attach(&mut fs, Cred::ROOT, "/bin", 1), Err(Errno::EBUSY));
    attach(&mut fs, Cred::ROOT, "/tmp/ro", 1).unwrap();
    assert_eq!(attach(&mut fs, Cred::ROOT, "/tmp/ro", 2), Err(Errno::EBUSY));
    assert_eq!(
        attach(&mut fs, BOB, "/tmp/ro", 2),
        Err(Errno::EBUSY),
        "EBUSY comes first"
    );
    assert_eq!(fs.attachments().collect::<Vec<_>>(), [1]);
    fs.audit();
}

#[test]
fn a_removed_directory_takes_no_door() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    let cwd = fs.chdir(ALICE, fs.root(), b"/tmp/d").unwrap();
    rmdir(&mut fs, ALICE, "/tmp/d").unwrap();
    // `.` still names the removed current directory, which goes away with
    // its last holder: a door attached there could never be detached.
    assert_eq!(fs.attach(ALICE, cwd, b".", 3), Err(Errno::ENOENT));
    assert_eq!(fs.attach(Cred::ROOT, cwd, b".", 3), Err(Errno::ENOENT));
    assert_eq!(fs.attachments().count(), 0);
    assert_eq!(fs.detach(ALICE, cwd, b"."), Err(Errno::EINVAL));
    fs.release_node(cwd);
    fs.audit();
}

#[test]
fn fdetach_errors_follow_illumos() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    assert_eq!(
        detach(&mut fs, ALICE, "/tmp/f"),
        Err(Errno::EINVAL),
        "nothing attached"
    );
    assert_eq!(detach(&mut fs, ALICE, "/tmp/none"), Err(Errno::ENOENT));
    attach(&mut fs, ALICE, "/tmp/f", 3).unwrap();
    assert_eq!(detach(&mut fs, BOB, "/tmp/f"), Err(Errno::EPERM));
    assert_eq!(detach(&mut fs, Cred::ROOT, "/tmp/f"), Ok(3));
    assert_eq!(detach(&mut fs, Cred::ROOT, "/tmp/f"), Err(Errno::EINVAL));
}

#[test]
fn one_door_may_cover_several_paths() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/a", 0o644, b"");
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    attach(&mut fs, ALICE, "/tmp/a", 9).unwrap();
    attach(&mut fs, ALICE, "/tmp/d", 9).unwrap();
    attach(&mut fs, Cred::ROOT, "/dev/null", 4).unwrap();
    let mut doors: Vec<_> = fs.attachments().collect();
    doors.sort();
    assert_eq!(doors, [4, 9, 9]);
    assert_eq!(
        open_door(&mut fs, EVE, "/tmp/d", O_RDONLY),
        Ok(Opened::Door(9))
    );
    assert_eq!(
        open_door(&mut fs, EVE, "/dev/null", O_RDWR),
        Ok(Opened::Door(4))
    );
    assert_eq!(detach(&mut fs, ALICE, "/tmp/a"), Ok(9));
    assert_eq!(fs.attachments().collect::<Vec<_>>(), [4, 9]);
}

#[test]
fn a_covered_node_is_busy_and_hides_what_is_below() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    make_file(&mut fs, ALICE, "/tmp/d/inner", 0o644, b"");
    make_file(&mut fs, ALICE, "/tmp/f", 0o600, b"");
    attach(&mut fs, ALICE, "/tmp/d", 1).unwrap();
    attach(&mut fs, ALICE, "/tmp/f", 2).unwrap();
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/f"), Err(Errno::EBUSY));
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/f", "/tmp/g"),
        Err(Errno::EBUSY)
    );
    make_file(&mut fs, ALICE, "/tmp/g", 0o644, b"");
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/g", "/tmp/f"),
        Err(Errno::EBUSY)
    );
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/d"), Err(Errno::EBUSY));
    assert_eq!(
        stat(&fs, ALICE, "/tmp/d/inner"),
        Err(Errno::ENOTDIR),
        "the door hides it"
    );
    assert_eq!(
        open_door(&mut fs, ALICE, "/tmp/d", O_DIRECTORY),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        open_door(&mut fs, ALICE, "/tmp/f/", O_RDONLY),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(fs.chdir(ALICE, fs.root(), b"/tmp/d"), Err(Errno::ENOTDIR));
    // The covered node's mode decides who may open the door.
    assert_eq!(
        open_door(&mut fs, BOB, "/tmp/f", O_RDONLY),
        Err(Errno::EACCES)
    );
    assert_eq!(
        open_door(&mut fs, ALICE, "/tmp/f", O_RDWR),
        Ok(Opened::Door(2))
    );
    assert_eq!(
        fs.executable(Cred::ROOT, fs.root(), b"/tmp/f"),
        Err(Errno::EACCES)
    );
    detach(&mut fs, ALICE, "/tmp/d").unwrap();
    assert!(stat(&fs, ALICE, "/tmp/d/inner").is_ok());
    fs.audit();
}

#[test]
fn a_current_directory_covered_later_still_resolves_names() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    make_file(&mut fs, ALICE, "/tmp/d/inner", 0o644, b"in");
    let cwd = fs.chdir(ALICE, fs.root(), b"/tmp/d").unwrap();
    let dir = open(&mut fs, ALICE, "/tmp/d", O_RDONLY).unwrap();
    attach(&mut fs, ALICE, "/tmp/d", 5).unwrap();
    // Held by reference, the directory is no path's component...
    let Ok(Opened::File(ofd)) = fs.open(ALICE, cwd, b"inner", O_RDONLY, 0) else {
        panic!("inner did not open");
    };
    assert_eq!(read(&mut fs, ofd, 8).unwrap(), b"in");
    // ... but `.` reaches it as one, and meets the door (as illumos).
    assert_eq!(fs.open(ALICE, cwd, b".", O_RDONLY, 0), Ok(Opened::Door(5)));
    assert_eq!(
        fs.open(ALICE, cwd, b"./inner", O_RDONLY, 0),
        Err(Errno::ENOTDIR)
    );
    let Ok(again) = fs.fchdir(ALICE, dir) else {
        panic!("fchdir through a description opened before the door failed");
    };
    assert_eq!(again, cwd);
    for node in [cwd, again] {
        fs.release_node(node);
    }
    fs.release(ofd);
    fs.release(dir);
    fs.audit();
}
