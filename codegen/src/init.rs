//! How training initialises a parameter: `init SCHEME(ARGS)` on its declaration. Libraries that
//! define "the same" layer initialise it differently (PyG: Glorot-uniform weights, zero biases;
//! DGL: Xavier-normal at ReLU gain), and the initialisation changes what training finds, so it is
//! part of the layer. A parameter without `init` keeps gatgrad's default (PyG's): Glorot-uniform,
//! zero for a bias, 1 for a one-element parameter.
//!
//! Fans are computed from the parameter's shape in files, the shape the library's tensor has:
//! [`Init::Glorot`] as PyG's `glorot` (the last two axes), the Xavier schemes as PyTorch's
//! `_calculate_fan_in_and_fan_out` (`fan_in = size(1) · receptive`, `fan_out = size(0) ·
//! receptive`, `receptive` the product of the axes after the second).

use std::fmt;

/// An initialisation scheme (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyG's `glorot`: uniform on `±√(6 / (a + b))`, `a`, `b` the last two axes of the file shape.
    Glorot,
    /// PyTorch's `xavier_uniform_`: uniform on `±gain · √(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// The gain.
        gain: f64,
    },
    /// PyTorch's `xavier_normal_`: normal with mean 0 and `std = gain · √(2 / (fan_in + fan_out))`.
    XavierNormal {
        /// The gain.
        gain: f64,
    },
    /// Every entry 0.
    Zeros,
    /// Every entry 1.
    Ones,
}

/// One scheme as the DSL spells it, with the arguments it takes.
pub struct Scheme {
    /// Its name in `init NAME(...)`.
    pub name: &'static str,
    /// Whether it takes `gain = ...` (default 1).
    pub takes_gain: bool,
}

/// Every scheme, in the order messages list them.
pub const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "glorot",
        takes_gain: false,
    },
    Scheme {
        name: "xavier_uniform",
        takes_gain: true,
    },
    Scheme {
        name: "xavier_normal",
        takes_gain: true,
    },
    Scheme {
        name: "zeros",
        takes_gain: false,
    },
    Scheme {
        name: "ones",
        takes_gain: false,
    },
];

/// PyTorch's `calculate_gain(name)` for the nonlinearities without a parameter (`leaky_relu`
/// with its default slope 0.01).
pub fn named_gain(name: &str) -> Option<f64> {
    Some(match name {
        "linear" | "identity" | "sigmoid" => 1.0,
        "relu" => std::f64::consts::SQRT_2,
        "tanh" => 5.0 / 3.0,
        "selu" => 0.75,
        "leaky_relu" => (2.0 / (1.0 + 0.01f64 * 0.01)).sqrt(),
        _ => return None,
    })
}

/// The names [`named_gain`] knows, for messages.
pub const GAIN_NAMES: &str = "linear, relu, tanh, sigmoid, selu, leaky_relu";

impl Init {
    /// The scheme called `name` with `gain`; `None` for an unknown name.
    pub fn from_name(name: &str, gain: f64) -> Option<Init> {
        Some(match name {
            "glorot" => Init::Glorot,
            "xavier_uniform" => Init::XavierUniform { gain },
            "xavier_normal" => Init::XavierNormal { gain },
            "zeros" => Init::Zeros,
            "ones" => Init::Ones,
            _ => return None,
        })
    }

    /// `(fan_in, fan_out)` of a tensor of file shape `shape`, as PyTorch computes them (a
    /// vector: both its length).
    pub fn torch_fans(shape: &[usize]) -> (usize, usize) {
        match shape {
            [] => (1, 1),
            [n] => (*n, *n),
            [out, inp, rest @ ..] => {
                let receptive: usize = rest.iter().product();
                (inp * receptive, out * receptive)
            }
        }
    }
}

/// A gain as a file can write it: the nonlinearity whose `calculate_gain` it is, else the number
/// (1 stays a number: several nonlinearities have it).
fn gain_text(gain: f64) -> String {
    GAIN_NAMES
        .split(", ")
        .filter(|_| gain != 1.0)
        .find(|n| named_gain(n).is_some_and(|g| g.to_bits() == gain.to_bits()))
        .map_or_else(|| gain.to_string(), str::to_string)
}

impl fmt::Display for Init {
    /// As a file can write it: `glorot`, `xavier_normal(gain = relu)`, `xavier_uniform(gain = 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Glorot => write!(f, "glorot"),
            Init::XavierUniform { gain } => {
                write!(f, "xavier_uniform(gain = {})", gain_text(*gain))
            }
            Init::XavierNormal { gain } => write!(f, "xavier_normal(gain = {})", gain_text(*gain)),
            Init::Zeros => write!(f, "zeros"),
            Init::Ones => write!(f, "ones"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_follow_pytorch() {
        // nn.Linear(5, 8).weight is [8, 5]: fan_in 5, fan_out 8.
        assert_eq!(Init::torch_fans(&[8, 5]), (5, 8));
        // DGL's attn [1, H=2, C=4]: fan_in = 2·4, fan_out = 1·4.
        assert_eq!(Init::torch_fans(&[1, 2, 4]), (8, 4));
        assert_eq!(Init::torch_fans(&[6]), (6, 6));
    }

    #[test]
    fn gains_follow_pytorch() {
        assert_eq!(named_gain("relu"), Some(2f64.sqrt()));
        assert_eq!(named_gain("tanh"), Some(5.0 / 3.0));
        assert_eq!(named_gain("softmax"), None);
    }

    #[test]
    fn named_gains_print_by_name() {
        let relu = Init::XavierNormal { gain: 2f64.sqrt() };
        assert_eq!(relu.to_string(), "xavier_normal(gain = relu)");
        assert_eq!(
            Init::XavierUniform { gain: 2.0 }.to_string(),
            "xavier_uniform(gain = 2)"
        );
    }

    #[test]
    fn every_scheme_has_a_name() {
        for s in SCHEMES {
            let init = Init::from_name(s.name, 2.0).unwrap();
            assert!(init.to_string().starts_with(s.name));
        }
    }
}
