pub mod socks5;
