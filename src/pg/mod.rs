//! PostgreSQL: connections (`db`, over `tls`), lock waits that never block the
//! application (`locks`, `lock_keys`), and the client programs kronic runs (`tools`).

pub mod databases;
pub mod db;
pub mod lock_keys;
pub mod locks;
pub mod roles;
pub mod tls;
pub mod tools;
