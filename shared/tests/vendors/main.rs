//! Every vendor client against its sandbox (local/sandbox), one private
//! sandbox per test.

mod support;

mod cloudcraft;
mod datatheorem;
mod leaks;
mod risken;
mod skyhigh;
mod stellarcyber;
