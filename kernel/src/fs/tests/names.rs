//! Calls on names: directories, removal, renaming, permissions, the sticky
//! `/tmp`, chmod, access, directory listings, current directories, limits.

use super::*;

#[test]
fn directories_are_made_and_removed() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o750).unwrap();
    let st = stat(&fs, ALICE, "/tmp/d").unwrap();
    assert_eq!(
        (st.st_mode, st.st_nlink, st.st_uid),
        (S_IFDIR | 0o750, 2, 1000)
    );
    assert_eq!(stat(&fs, ALICE, "/tmp").unwrap().st_nlink, 3);
    assert_eq!(mkdir(&mut fs, ALICE, "/tmp/d", 0o755), Err(Errno::EEXIST));
    assert_eq!(mkdir(&mut fs, ALICE, "/tmp/d/.", 0o755), Err(Errno::EEXIST));
    assert_eq!(mkdir(&mut fs, ALICE, "/", 0o755), Err(Errno::EEXIST));
    assert_eq!(
        mkdir(&mut fs, ALICE, "/tmp/no/d", 0o755),
        Err(Errno::ENOENT)
    );
    assert_eq!(mkdir(&mut fs, ALICE, "/newtop", 0o755), Err(Errno::EACCES));
    mkdir(&mut fs, ALICE, "/tmp/d/e/", 0o755).unwrap();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/f"), Err(Errno::ENOTDIR));
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/d/e/."), Err(Errno::EINVAL));
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/d/e/.."), Err(Errno::ENOTEMPTY));
    assert_eq!(rmdir(&mut fs, Cred::ROOT, "/"), Err(Errno::EBUSY));
    assert_eq!(rmdir(&mut fs, ALICE, "/tmp/none"), Err(Errno::ENOENT));
    rmdir(&mut fs, ALICE, "/tmp/d/e/").unwrap();
    rmdir(&mut fs, ALICE, "/tmp/d").unwrap();
    assert_eq!(stat(&fs, ALICE, "/tmp").unwrap().st_nlink, 2);
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1);
    fs.audit();
}

#[test]
fn unlink_takes_files_only() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/d"), Err(Errno::EISDIR));
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/d/"), Err(Errno::EISDIR));
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/f/"), Err(Errno::ENOTDIR));
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/d/.."), Err(Errno::EISDIR));
    assert_eq!(unlink(&mut fs, Cred::ROOT, "/"), Err(Errno::EISDIR));
    assert_eq!(unlink(&mut fs, ALICE, "/tmp/g"), Err(Errno::ENOENT));
    assert_eq!(unlink(&mut fs, ALICE, "/dev/null"), Err(Errno::EACCES));
    unlink(&mut fs, ALICE, "/tmp/f").unwrap();
    unlink(&mut fs, Cred::ROOT, "/dev/null").unwrap();
    assert_eq!(stat(&fs, ALICE, "/dev/null"), Err(Errno::ENOENT));
    fs.audit();
}

#[test]
fn permission_bits_decide_by_owner_group_and_others() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o640, b"secret");
    assert!(open(&mut fs, BOB, "/tmp/f", O_RDONLY).is_ok_and(|ofd| {
        fs.release(ofd);
        true
    }));
    assert_eq!(open(&mut fs, BOB, "/tmp/f", O_WRONLY), Err(Errno::EACCES));
    assert_eq!(open(&mut fs, EVE, "/tmp/f", O_RDONLY), Err(Errno::EACCES));
    // The owner's class decides even when the group's is more generous.
    chmod(&mut fs, ALICE, "/tmp/f", 0o070).unwrap();
    assert_eq!(open(&mut fs, ALICE, "/tmp/f", O_RDONLY), Err(Errno::EACCES));
    let ofd = open(&mut fs, BOB, "/tmp/f", O_RDWR).unwrap();
    fs.release(ofd);
    chmod(&mut fs, ALICE, "/tmp/f", 0).unwrap();
    let ofd = open(&mut fs, Cred::ROOT, "/tmp/f", O_RDWR).unwrap();
    fs.release(ofd);
    // Directories: search (x) to go through, write and search to create.
    mkdir(&mut fs, ALICE, "/tmp/private", 0o700).unwrap();
    make_file(&mut fs, ALICE, "/tmp/private/g", 0o666, b"");
    assert_eq!(
        open(&mut fs, BOB, "/tmp/private/g", O_RDONLY),
        Err(Errno::EACCES)
    );
    assert_eq!(stat(&fs, BOB, "/tmp/private/g"), Err(Errno::EACCES));
    chmod(&mut fs, ALICE, "/tmp/private", 0o755).unwrap();
    assert!(stat(&fs, BOB, "/tmp/private/g").is_ok());
    assert_eq!(
        open(&mut fs, BOB, "/tmp/private/h", O_CREAT),
        Err(Errno::EACCES)
    );
    assert_eq!(unlink(&mut fs, BOB, "/tmp/private/g"), Err(Errno::EACCES));
    chmod(&mut fs, ALICE, "/tmp/private", 0o600).unwrap();
    assert_eq!(
        stat(&fs, ALICE, "/tmp/private/g"),
        Err(Errno::EACCES),
        "r without x"
    );
    assert!(
        stat(&fs, Cred::ROOT, "/tmp/private/g").is_ok(),
        "root searches anything"
    );
    fs.audit();
}

#[test]
fn the_sticky_tmp_protects_other_users_files() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/a", 0o666, b"");
    make_file(&mut fs, BOB, "/tmp/b", 0o666, b"");
    assert_eq!(unlink(&mut fs, BOB, "/tmp/a"), Err(Errno::EPERM));
    assert_eq!(rename(&mut fs, BOB, "/tmp/a", "/tmp/c"), Err(Errno::EPERM));
    assert_eq!(
        rename(&mut fs, BOB, "/tmp/b", "/tmp/a"),
        Err(Errno::EPERM),
        "replacing"
    );
    rename(&mut fs, ALICE, "/tmp/a", "/tmp/c").unwrap();
    unlink(&mut fs, Cred::ROOT, "/tmp/b").unwrap();
    // Without the sticky bit, write permission on the directory suffices.
    mkdir(&mut fs, ALICE, "/tmp/open", 0o777).unwrap();
    make_file(&mut fs, ALICE, "/tmp/open/f", 0o600, b"");
    unlink(&mut fs, BOB, "/tmp/open/f").unwrap();
    // The directory's owner may remove anything from a sticky directory.
    chmod(&mut fs, ALICE, "/tmp/open", 0o1777).unwrap();
    make_file(&mut fs, BOB, "/tmp/open/g", 0o600, b"");
    assert_eq!(unlink(&mut fs, EVE, "/tmp/open/g"), Err(Errno::EPERM));
    unlink(&mut fs, ALICE, "/tmp/open/g").unwrap();
    fs.audit();
}

#[test]
fn chmod_is_for_the_owner_and_root() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    assert_eq!(chmod(&mut fs, BOB, "/tmp/f", 0o777), Err(Errno::EPERM));
    chmod(&mut fs, ALICE, "/tmp/f", 0o177777).unwrap();
    assert_eq!(
        stat(&fs, BOB, "/tmp/f").unwrap().st_mode,
        S_IFREG | 0o7777,
        "bits masked"
    );
    chmod(&mut fs, Cred::ROOT, "/tmp/f", 0o600).unwrap();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_RDONLY).unwrap();
    assert_eq!(fs.fchmod(BOB, ofd, 0o666), Err(Errno::EPERM));
    fs.fchmod(ALICE, ofd, 0o400).unwrap();
    assert_eq!(fs.fstat(ofd).st_mode, S_IFREG | 0o400);
    assert_eq!(
        chmod(&mut fs, ALICE, "/tmp/none", 0o600),
        Err(Errno::ENOENT)
    );
    fs.release(ofd);
}

#[test]
fn access_checks_like_open_would() {
    let mut fs = new_fs();
    let root = fs.root();
    fs.add_boot_file(b"prog", b"elf").unwrap();
    make_file(&mut fs, BOB, "/tmp/f", 0o600, b"");
    assert_eq!(fs.access(ALICE, root, b"/tmp/f", F_OK), Ok(()));
    assert_eq!(fs.access(ALICE, root, b"/tmp/f", R_OK), Err(Errno::EACCES));
    assert_eq!(fs.access(BOB, root, b"/tmp/f", R_OK | W_OK), Ok(()));
    assert_eq!(fs.access(BOB, root, b"/tmp/f", X_OK), Err(Errno::EACCES));
    assert_eq!(
        fs.access(Cred::ROOT, root, b"/tmp/f", X_OK),
        Err(Errno::EACCES)
    );
    assert_eq!(fs.access(Cred::ROOT, root, b"/bin/prog", X_OK), Ok(()));
    assert_eq!(
        fs.access(Cred::ROOT, root, b"/bin/prog", W_OK),
        Err(Errno::EROFS)
    );
    assert_eq!(
        fs.access(ALICE, root, b"/tmp/none", F_OK),
        Err(Errno::ENOENT)
    );
    assert_eq!(fs.access(ALICE, root, b"/tmp/f", 8), Err(Errno::EINVAL));
}

#[test]
fn rename_moves_and_replaces_files() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/a", 0o644, b"A");
    make_file(&mut fs, ALICE, "/tmp/b", 0o644, &[b'B'; 5000]);
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    let held = open(&mut fs, ALICE, "/tmp/b", O_RDONLY).unwrap();
    rename(&mut fs, ALICE, "/tmp/a", "/tmp/b").unwrap();
    assert_eq!(contents(&mut fs, "/tmp/b"), b"A");
    assert_eq!(stat(&fs, ALICE, "/tmp/a"), Err(Errno::ENOENT));
    assert_eq!(
        read(&mut fs, held, 3).unwrap(),
        b"BBB",
        "the replaced file lives on while open"
    );
    assert_eq!(fs.usage().pages, 3);
    fs.release(held);
    assert_eq!(fs.usage().pages, 1);
    rename(&mut fs, ALICE, "/tmp/b", "/tmp/d/b").unwrap();
    rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/d/b").unwrap();
    rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/d/../d/./b").unwrap();
    assert_eq!(contents(&mut fs, "/tmp/d/b"), b"A");
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/d"),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/b/", "/tmp/c"),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/c/"),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/none", "/tmp/c"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/no/c"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/.", "/tmp/c"),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/b", "/tmp/.."),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        rename(&mut fs, Cred::ROOT, "/", "/tmp/c"),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        contents(&mut fs, "/tmp/d/b"),
        b"A",
        "failed renames changed nothing"
    );
    fs.audit();
}

#[test]
fn rename_moves_directories_with_their_contents() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    mkdir(&mut fs, ALICE, "/tmp/d/sub", 0o755).unwrap();
    make_file(&mut fs, ALICE, "/tmp/d/sub/f", 0o644, b"deep");
    make_file(&mut fs, ALICE, "/tmp/file", 0o644, b"");
    mkdir(&mut fs, ALICE, "/tmp/empty", 0o755).unwrap();
    mkdir(&mut fs, ALICE, "/tmp/full", 0o755).unwrap();
    mkdir(&mut fs, ALICE, "/tmp/full/x", 0o755).unwrap();
    let cwd = fs.chdir(ALICE, fs.root(), b"/tmp/d/sub").unwrap();
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d", "/tmp/d/sub/in"),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d", "/tmp/d/in"),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d", "/tmp/file"),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d", "/tmp/full"),
        Err(Errno::ENOTEMPTY)
    );
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/d/sub", "/tmp/d"),
        Err(Errno::ENOTEMPTY)
    );
    rename(&mut fs, ALICE, "/tmp/d", "/tmp/empty").unwrap();
    assert_eq!(contents(&mut fs, "/tmp/empty/sub/f"), b"deep");
    assert_eq!(
        fs.getcwd(cwd).unwrap(),
        b"/tmp/empty/sub",
        "a current directory moves along"
    );
    rename(&mut fs, ALICE, "/tmp/empty/sub", "/tmp/full/x/sub").unwrap();
    assert_eq!(fs.getcwd(cwd).unwrap(), b"/tmp/full/x/sub");
    assert_eq!(stat(&fs, ALICE, "/tmp/full/x").unwrap().st_nlink, 3);
    assert_eq!(stat(&fs, ALICE, "/tmp/empty").unwrap().st_nlink, 2);
    // Moving a directory to another parent rewrites its `..`: it needs
    // write permission on the directory itself (as Linux).
    chmod(&mut fs, ALICE, "/tmp/full/x/sub", 0o555).unwrap();
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/full/x/sub", "/tmp/sub"),
        Err(Errno::EACCES)
    );
    rename(&mut fs, ALICE, "/tmp/full/x/sub", "/tmp/full/x/renamed").unwrap();
    fs.release_node(cwd);
    fs.audit();
}

#[test]
fn listings_resume_and_survive_changes() {
    let mut fs = new_fs();
    for name in ["a", "bb", "ccc"] {
        make_file(&mut fs, ALICE, &std::format!("/tmp/{name}"), 0o644, b"");
    }
    mkdir(&mut fs, ALICE, "/tmp/dir", 0o755).unwrap();
    let full = list(&mut fs, "/tmp", 4096);
    let one_at_a_time = list(&mut fs, "/tmp", 24);
    assert_eq!(full, one_at_a_time);
    let names: Vec<_> = full
        .iter()
        .map(|(n, t)| (std::str::from_utf8(n).unwrap(), *t))
        .collect();
    assert_eq!(
        names,
        [
            (".", DT_DIR),
            ("..", DT_DIR),
            ("a", DT_REG),
            ("bb", DT_REG),
            ("ccc", DT_REG),
            ("dir", DT_DIR)
        ]
    );
    let ofd = open(&mut fs, ALICE, "/tmp", O_RDONLY).unwrap();
    let mut small = [0u8; 23];
    assert_eq!(fs.getdents(ofd, &mut &mut small[..]), Err(Errno::EINVAL));
    let mut buf = [0u8; 72];
    let n = fs.getdents(ofd, &mut &mut buf[..]).unwrap();
    let first: Vec<_> = decode_dirents64(&buf[..n])
        .map(|(h, name)| (h, name.to_vec()))
        .collect();
    assert_eq!(first.len(), 3, ". .. a");
    assert_eq!(first[2].0.d_ino, stat(&fs, ALICE, "/tmp/a").unwrap().st_ino);
    assert_eq!(first[1].0.d_ino, stat(&fs, ALICE, "/").unwrap().st_ino);
    // Changes between calls: a removed entry is not returned, a new one is.
    unlink(&mut fs, ALICE, "/tmp/bb").unwrap();
    make_file(&mut fs, ALICE, "/tmp/new", 0o644, b"");
    let mut rest = [0u8; 512];
    let n = fs.getdents(ofd, &mut &mut rest[..]).unwrap();
    let rest: Vec<_> = decode_dirents64(&rest[..n])
        .map(|(_, name)| name.to_vec())
        .collect();
    assert_eq!(rest, [&b"ccc"[..], b"dir", b"new"]);
    assert_eq!(fs.getdents(ofd, &mut &mut buf[..]), Ok(0));
    // Seeking back to a cookie a record gave resumes after that record.
    assert_eq!(
        fs.lseek(ofd, first[1].0.d_off, SEEK_SET),
        Ok(first[1].0.d_off as u64)
    );
    let n = fs.getdents(ofd, &mut &mut buf[..]).unwrap();
    assert_eq!(decode_dirents64(&buf[..n]).next().unwrap().1, b"a");
    assert_eq!(fs.lseek(ofd, 0, SEEK_END), Err(Errno::EINVAL));
    fs.release(ofd);
    let file = open(&mut fs, ALICE, "/tmp/a", O_RDONLY).unwrap();
    assert_eq!(fs.getdents(file, &mut &mut buf[..]), Err(Errno::ENOTDIR));
    fs.release(file);
}

#[test]
fn a_removed_directory_lists_as_enoent() {
    let mut fs = new_fs();
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    let ofd = open(&mut fs, ALICE, "/tmp/d", O_RDONLY).unwrap();
    rmdir(&mut fs, ALICE, "/tmp/d").unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(fs.getdents(ofd, &mut &mut buf[..]), Err(Errno::ENOENT));
    assert_eq!(fs.fstat(ofd).st_nlink, 0);
    fs.release(ofd);
    assert_eq!(fs.usage().nodes, INITIAL_NODES);
}

#[test]
fn current_directories_resolve_relative_paths_until_removed() {
    let mut fs = new_fs();
    let root = fs.root();
    fs.retain_node(root);
    assert_eq!(fs.getcwd(root).unwrap(), b"/");
    mkdir(&mut fs, ALICE, "/tmp/w", 0o755).unwrap();
    let cwd = fs.chdir(ALICE, root, b"tmp/w").unwrap();
    fs.release_node(root);
    assert_eq!(fs.getcwd(cwd).unwrap(), b"/tmp/w");
    let Opened::File(ofd) = fs
        .open(ALICE, cwd, b"f", O_CREAT | O_WRONLY, 0o600)
        .unwrap()
    else {
        panic!("not a file");
    };
    fs.release(ofd);
    assert!(stat(&fs, ALICE, "/tmp/w/f").is_ok());
    assert_eq!(fs.mkdir(ALICE, cwd, b"../w2", 0o755), Ok(()));
    assert!(stat(&fs, ALICE, "/tmp/w2").is_ok());
    let up = fs.chdir(ALICE, cwd, b"..").unwrap();
    assert_eq!(fs.getcwd(up).unwrap(), b"/tmp");
    fs.release_node(up);
    fs.unlink(ALICE, cwd, b"f").unwrap();
    rmdir(&mut fs, ALICE, "/tmp/w").unwrap();
    // The removed directory stays valid, empty, for its holder.
    assert_eq!(fs.getcwd(cwd), Err(Errno::ENOENT));
    assert_eq!(
        fs.open(ALICE, cwd, b"g", O_CREAT, 0o600),
        Err(Errno::ENOENT)
    );
    assert_eq!(fs.mkdir(ALICE, cwd, b"g", 0o755), Err(Errno::ENOENT));
    assert_eq!(fs.chdir(ALICE, cwd, b".."), Err(Errno::ENOENT));
    let Statted::Node(here) = fs.stat(ALICE, cwd, b".").unwrap() else {
        panic!("a door")
    };
    assert_eq!((here.st_mode & S_IFMT, here.st_nlink), (S_IFDIR, 0));
    let nodes = fs.usage().nodes;
    fs.release_node(cwd);
    assert_eq!(fs.usage().nodes, nodes - 1, "gone with its last holder");
    fs.audit();
}

#[test]
fn changing_directory_needs_a_searchable_directory() {
    let mut fs = new_fs();
    let root = fs.root();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"");
    mkdir(&mut fs, ALICE, "/tmp/closed", 0o700).unwrap();
    assert_eq!(fs.chdir(ALICE, root, b"/tmp/f"), Err(Errno::ENOTDIR));
    assert_eq!(fs.chdir(BOB, root, b"/tmp/closed"), Err(Errno::EACCES));
    let dir = open(&mut fs, ALICE, "/tmp/closed", O_RDONLY).unwrap();
    assert_eq!(fs.fchdir(BOB, dir), Err(Errno::EACCES));
    let node = fs.fchdir(ALICE, dir).unwrap();
    assert_eq!(fs.ofd_dir(dir), Ok(node));
    let file = open(&mut fs, ALICE, "/tmp/f", O_RDONLY).unwrap();
    assert_eq!(fs.ofd_dir(file), Err(Errno::ENOTDIR));
    assert_eq!(fs.fchdir(ALICE, file), Err(Errno::ENOTDIR));
    // An `openat`-style call: relative to the directory a description opened.
    assert_eq!(fs.mkdir(ALICE, node, b"inner", 0o755), Ok(()));
    assert!(stat(&fs, ALICE, "/tmp/closed/inner").is_ok());
    fs.release(dir);
    fs.release(file);
    assert_eq!(fs.audit().get(&node), Some(&1), "the fchdir hold remains");
    fs.release_node(node);
    assert!(fs.audit().is_empty());
}

#[test]
fn names_and_paths_are_bounded() {
    let mut fs = new_fs();
    let long_name = std::format!("/tmp/{}", "n".repeat(NAME_MAX + 1));
    assert_eq!(
        open(&mut fs, ALICE, &long_name, O_CREAT),
        Err(Errno::ENAMETOOLONG)
    );
    let max_name = std::format!("/tmp/{}", "n".repeat(NAME_MAX));
    make_file(&mut fs, ALICE, &max_name, 0o644, b"");
    let long_path = std::format!("/tmp{}", "/.".repeat(PATH_MAX / 2));
    assert_eq!(stat(&fs, ALICE, &long_path), Err(Errno::ENAMETOOLONG));
    assert!(stat(&fs, ALICE, &long_path[..PATH_MAX - 1]).is_ok());
    // Relative paths can build a directory deeper than PATH_MAX; its
    // getcwd then fails rather than return a path no call accepts.
    let mut cwd = fs.chdir(ALICE, fs.root(), b"/tmp").unwrap();
    let segment = "d".repeat(200);
    for _ in 0..6 {
        fs.mkdir(ALICE, cwd, segment.as_bytes(), 0o755).unwrap();
        let next = fs.chdir(ALICE, cwd, segment.as_bytes()).unwrap();
        fs.release_node(cwd);
        cwd = next;
    }
    assert_eq!(fs.getcwd(cwd), Err(Errno::ENAMETOOLONG));
    fs.release_node(cwd);
}
