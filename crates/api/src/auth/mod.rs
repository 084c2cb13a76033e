//! Who is calling: Mini App users by their signed initData (`Authorization: tma <initData>`).

pub mod init_data;

pub use init_data::{InitData, InitDataError, WebAppUser, validate_init_data};
