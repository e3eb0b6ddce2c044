//! The simulator's error enum: starting, serving, and reading configuration and fault specs.

use std::net::SocketAddr;

use crate::error::ErrorCode;

/// What can go wrong when starting or configuring the simulator. Request-level failures are never errors here:
/// they are HTTP responses, as the real API gives them.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The listening socket could not be bound (address in use, not allowed, ...).
    #[error("cannot bind the simulator to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error or its task failed.
    #[error("the simulator server failed: {0}")]
    Serve(String),
    /// A configuration value is out of range (time factor, fractions, limits).
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A fault plan spec string could not be read.
    #[error("invalid fault spec: {0}")]
    FaultSpec(String),
}

impl ErrorCode for SimulatorError {
    fn code(&self) -> &'static str {
        match self {
            SimulatorError::Bind { .. } => "simulator.bind",
            SimulatorError::Serve(_) => "simulator.serve",
            SimulatorError::Config(_) => "simulator.config",
            SimulatorError::FaultSpec(_) => "simulator.fault_spec",
        }
    }

    fn is_retryable(&self) -> bool {
        matches!(self, SimulatorError::Bind { .. } | SimulatorError::Serve(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let bind = SimulatorError::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(bind.code(), "simulator.bind");
        assert!(bind.is_retryable());
        assert_eq!(SimulatorError::FaultSpec("x".into()).code(), "simulator.fault_spec");
        assert!(!SimulatorError::Config("x".into()).is_retryable());
    }
}
